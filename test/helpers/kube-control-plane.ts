import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TenantServeSpec } from '../../src/runtimes/index.js';
import { freeTestPort } from './ports.js';

/**
 * A real Kubernetes control plane on loopback for the Kubernetes runtime's tests: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and kwok, whose fake nodes (labelled
 * with zones) report the pods scheduled on them Running and Ready. Built from the Go module
 * proxy into .tools/kube/<version>/ by scripts/lib.sh `ensure_kube_control_plane`. Each start
 * gets fresh data, free ports, a generated admin token and service-account key; the API
 * server makes its own self-signed serving certificate, which the kubeconfig trusts.
 */
export interface KubeControlPlane {
  /** Path of a kubeconfig for the cluster admin (group system:masters). */
  kubeconfigPath: string;
  kubeconfig: string;
  server: string;
  /** The fake nodes, with their zones. */
  nodes: Array<{ name: string; zone: string }>;
  stop(): Promise<void>;
}

export const KUBE_VERSION = 'v1.37.2';

/** Where the binaries are, or why the control plane cannot run here (the tests print it and skip). */
export function kubeBinaries(): { dir: string; stages: string } | { missing: string } {
  const root = process.env.KUBE_TOOLS_ROOT ?? resolve('.tools/kube', KUBE_VERSION);
  const dir = join(root, 'bin');
  for (const binary of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
    if (!existsSync(join(dir, binary))) {
      return { missing: `${binary} is missing in ${dir}: run \`npm test\` (scripts/lib.sh ensure_kube_control_plane builds it)` };
    }
  }
  const stages = join(root, 'kwok-stages.yaml');
  if (!existsSync(stages)) return { missing: `kwok's stages are missing at ${stages}: run \`npm test\`` };
  return { dir, stages };
}

interface Started {
  name: string;
  child: ChildProcess;
  output: () => string;
}

function startProcess(name: string, binary: string, args: string[], cwd: string): Started {
  let output = '';
  const child = spawn(binary, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    // Only the tail matters for a failure message; these logs are long.
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, child, output: () => output };
}

/** An HTTPS GET/POST to the API server with the admin token (the API server's own certificate is self-signed). */
function apiRequest(
  server: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(
      `${server}${path}`,
      {
        method,
        rejectUnauthorized: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', fail);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, processes: Started[], timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of processes) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode} while waiting for ${what}: ${p.output()}`);
    }
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${timeoutMs / 1000} s: ${processes.map((p) => `${p.name}: ${p.output().slice(-1500)}`).join('\n')}`,
      );
    }
    // Polling: these servers have no readiness signal to wait on other than their APIs.
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startKubeControlPlane(options: { zones?: string[]; volumes?: number } = {}): Promise<KubeControlPlane> {
  const binaries = kubeBinaries();
  if ('missing' in binaries) throw new Error(binaries.missing);
  const zones = options.zones ?? ['zone-a', 'zone-b', 'zone-c'];
  const dir = mkdtempSync(join(tmpdir(), 'saas-kube-'));
  const processes: Started[] = [];
  const stop = async () => {
    // Reverse order: clients before the API server, the API server before etcd.
    for (const p of [...processes].reverse()) {
      if (p.child.exitCode === null) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freeTestPort(), await freeTestPort(), await freeTestPort()];
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const bin = (name: string) => join(binaries.dir, name);

    processes.push(
      startProcess(
        'etcd',
        bin('etcd'),
        [
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
          '--unsafe-no-fsync',
          '--log-level=error',
        ],
        dir,
      ),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    processes.push(
      startProcess(
        'kube-apiserver',
        bin('kube-apiserver'),
        [
          `--etcd-servers=http://127.0.0.1:${etcdPort}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          // A loopback address cannot be published as the kubernetes Service's endpoint; nothing here needs it.
          '--endpoint-reconciler-type=none',
          `--secure-port=${apiPort}`,
          `--cert-dir=${join(dir, 'apiserver-certs')}`,
          `--token-auth-file=${join(dir, 'tokens.csv')}`,
          '--authorization-mode=RBAC',
          '--service-cluster-ip-range=10.96.0.0/16',
          `--service-account-issuer=${server}`,
          `--service-account-key-file=${join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
          '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,PodSecurity',
          '--allow-privileged=false',
          '--v=0',
        ],
        dir,
      ),
    );
    await until(
      'the API server being ready',
      async () => ((await apiRequest(server, token, 'GET', '/readyz')).status === 200 ? true : undefined),
      processes,
    );
    // The API server's self-signed serving certificate (it wrote it on start) is the CA the kubeconfig trusts.
    const certificate = readFileSync(join(dir, 'apiserver-certs', 'apiserver.crt'));
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${certificate.toString('base64')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: test',
      '  context: {cluster: test, user: admin}',
      'current-context: test',
      '',
    ].join('\n');
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

    processes.push(
      startProcess(
        'kube-controller-manager',
        bin('kube-controller-manager'),
        [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          '--secure-port=0',
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${join(dir, 'apiserver-certs', 'apiserver.crt')}`,
          '--controllers=*',
          '--v=0',
        ],
        dir,
      ),
      startProcess(
        'kube-scheduler',
        bin('kube-scheduler'),
        [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0'],
        dir,
      ),
      startProcess(
        'kwok',
        bin('kwok'),
        [
          `--config=${binaries.stages}`,
          `--kubeconfig=${kubeconfigPath}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          '--cidr=10.244.0.0/16',
          '--node-ip=10.0.0.1',
        ],
        dir,
      ),
    );

    const nodes = zones.map((zone, index) => ({ name: `kwok-node-${index}`, zone }));
    for (const node of nodes) {
      const created = await apiRequest(server, token, 'POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': node.name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'topology.kubernetes.io/zone': node.zone,
            type: 'kwok',
          },
        },
        status: {
          allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
          capacity: { cpu: '32', memory: '128Gi', pods: '110' },
        },
      });
      if (created.status !== 201) throw new Error(`creating fake node ${node.name} failed (${created.status}): ${created.body}`);
    }
    // No storage provisioner runs here: pre-made volumes (never mounted: kwok runs no pods) let
    // the controller manager bind the tenants' claims, without which the scheduler places no pod.
    for (let i = 0; i < (options.volumes ?? 24); i++) {
      const created = await apiRequest(server, token, 'POST', '/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `kwok-pv-${i}` },
        spec: {
          capacity: { storage: '100Gi' },
          accessModes: ['ReadWriteOnce', 'ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: `/nonexistent/kwok-pv-${i}` },
        },
      });
      if (created.status !== 201) throw new Error(`creating volume kwok-pv-${i} failed (${created.status}): ${created.body}`);
    }
    // Ready: every fake node reports Ready (kwok runs), and the default service account exists
    // in `default` (the controller manager runs: pods are admitted only once it exists).
    await until(
      'the fake nodes being Ready',
      async () => {
        const list = JSON.parse((await apiRequest(server, token, 'GET', '/api/v1/nodes')).body) as {
          items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }>;
        };
        const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === nodes.length ? true : undefined;
      },
      processes,
    );
    await until(
      'the controller manager making service accounts',
      async () =>
        (await apiRequest(server, token, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200 ? true : undefined,
      processes,
    );
    return { kubeconfigPath, kubeconfig, server, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A dedicated tenant on a shared server as the platform would hand it to the Kubernetes runtime (its database is never reached on fake nodes). */
export function kubeServeSpec(name: string, replicas: number): TenantServeSpec {
  return {
    tenantId: randomUUID(),
    tenantName: name,
    hostName: `${name}.example.test`,
    databaseName: `t_${name}`,
    processStrategy: 'dedicated',
    databaseServerId: 'shared-1',
    tenantRole: { host: '10.1.2.3', port: 5432, user: `t_${name}`, password: 'database-password' },
    limits: { cpu: 2, memoryMiB: 2048, storageGiB: 12 },
    replicas,
    planCode: 'standard',
  };
}
