import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/plans/index.js';
import {
  createKubeClient,
  createKubernetesRuntime,
  DEFAULT_KUBERNETES_SETTINGS,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type KubernetesRuntime,
  type KubernetesSettings,
  kubeConfigFrom,
  LABELS,
  planSizing,
  RolloutFailedError,
  resourcePath,
  tenantManifests,
  tenantOdooConf,
  waitForRollout,
} from '../../src/runtimes/kubernetes/index.js';
import { type KubeControlPlane, kubeBinaries, kubeServeSpec, startKubeControlPlane } from '../helpers/kube-control-plane.js';

/**
 * The Kubernetes runtime against a real API server: etcd + kube-apiserver + controller manager
 * + scheduler + kwok fake nodes (test/helpers/kube-control-plane.ts). The pods never run Odoo
 * (kwok only reports them Running and Ready), so what is shown is what the API server, its
 * admission and the controllers do with the manifests.
 */
const binaries = kubeBinaries();
if ('missing' in binaries) console.log(`Kubernetes runtime tests skipped: ${binaries.missing}`);

const settings: KubernetesSettings = { ...DEFAULT_KUBERNETES_SETTINGS, image: 'odoo:17' };

function manifestsFor(name: string, code = 'standard'): KubeObject[] {
  const plan = defaultCatalog.find((p) => p.code === code);
  if (!plan) throw new Error(`no plan ${code}`);
  const shared = { ...plan, placement: { ...plan.placement, databaseStrategy: 'shared' as const } };
  return tenantManifests({
    tenant: { tenantId: randomUUID(), tenantName: name, hostName: `${name}.example.test`, customDomains: [] },
    plan: shared,
    settings,
    odooConf: tenantOdooConf({
      databaseName: `t_${name}`,
      credentials: { host: '10.1.2.3', port: 5432, user: `t_${name}`, password: 'p' },
      dedicatedDatabase: false,
      adminPassword: 'a',
      sizing: planSizing(shared),
      settings,
    }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<KubeApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubeApiError);
  return error as KubeApiError;
}

interface PodView {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: Array<{ resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }> };
  status?: { phase?: string };
}

describe.skipIf('missing' in binaries)('Kubernetes runtime on a real API server (kwok fake nodes)', () => {
  let plane: KubeControlPlane;
  let client: KubeClient;
  let runtime: KubernetesRuntime;

  beforeAll(async () => {
    plane = await startKubeControlPlane();
    client = createKubeClient(kubeConfigFrom({ kubeconfig: plane.kubeconfig }));
    runtime = createKubernetesRuntime({ client, settings, secretKey: 'test-secret-key', rolloutTimeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it('server-side apply: every object of a plan is admitted, owned by the platform field manager, and a re-apply changes nothing', async () => {
    const objects = manifestsFor('ssa');
    for (const object of objects) await client.apply(object);
    const path = resourcePath('v1', 'LimitRange', 't-ssa', 'plan');
    interface Stored {
      metadata: { resourceVersion: string; managedFields?: Array<{ manager: string; operation: string }> };
      spec: { limits: Array<Record<string, unknown>> };
    }
    const limitRange = await client.get<Stored>(path);
    // The LimitRange's `default` reached the server (a client that renames it to `_default` loses it).
    // (The server stores quantities canonically: 1000m is 1, 1024Mi is 1Gi.)
    expect(limitRange?.spec.limits[0]?.default).toEqual({ cpu: '1', memory: '1Gi' });
    expect(limitRange?.metadata.managedFields?.map((m) => [m.manager, m.operation])).toEqual([['odoo-saas', 'Apply']]);
    for (const object of objects) await client.apply(object);
    const again = await client.get<Stored>(path);
    expect(again?.metadata.resourceVersion).toBe(limitRange?.metadata.resourceVersion);
  });

  it('server-side apply: a field another manager owns is a conflict unless forced', async () => {
    const quotaPath = resourcePath('v1', 'ResourceQuota', 't-ssa', 'plan');
    // Someone (kubectl, another controller) takes the pods count.
    await client.call(
      'PATCH',
      `${quotaPath}?fieldManager=kubectl-edit&force=true`,
      { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'plan', namespace: 't-ssa' }, spec: { hard: { pods: '99' } } },
      'application/apply-patch+yaml',
    );
    const quota = manifestsFor('ssa').find((o) => o.kind === 'ResourceQuota') as KubeObject;
    const conflict = await rejection(client.apply(quota, { force: false }));
    expect(conflict.status).toBe(409);
    expect(conflict.message).toContain('kubectl-edit');
    await client.apply(quota, { force: true });
    const owned = await client.get<{ spec: { hard: Record<string, string> } }>(quotaPath);
    expect(owned?.spec.hard.pods).toBe('3');
  });

  it('admission: the LimitRange fills in a bare container, the quota refuses a pod over it, Pod Security refuses a root pod', async () => {
    const podsPath = '/api/v1/namespaces/t-ssa/pods';
    const hardened = {
      securityContext: { runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'busybox',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    };
    const admitted = await client.call<PodView>('POST', podsPath, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare' },
      spec: hardened,
    });
    expect(admitted.spec.containers[0]?.resources).toEqual({
      limits: { cpu: '1', memory: '1Gi' },
      requests: { cpu: '500m', memory: '512Mi' },
    });

    const tooBig = {
      ...hardened,
      containers: [
        { ...hardened.containers[0], resources: { limits: { cpu: '400m', memory: '8Gi' }, requests: { cpu: '100m', memory: '100Mi' } } },
      ],
    };
    const overQuota = await rejection(
      client.call('POST', podsPath, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'too-big' }, spec: tooBig }),
    );
    expect(overQuota.status).toBe(403);
    expect(overQuota.message).toContain('maximum memory usage per Container is 1Gi');

    // Runs as the image's user (root, for all the API server knows), may escalate, keeps its capabilities.
    const root = { containers: [{ name: 'c', image: 'busybox' }] };
    const privileged = await rejection(
      client.call('POST', podsPath, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root' }, spec: root }),
    );
    expect(privileged.status).toBe(403);
    expect(privileged.message).toContain('violates PodSecurity "restricted:latest"');
  });

  it('serve: the Deployments become available on the fake nodes and the web replicas spread over distinct nodes', async () => {
    const spec = kubeServeSpec('acme', 2);
    const upstream = await runtime.serve(spec);
    expect(upstream).toEqual({ host: settings.ingressUpstream.host, port: settings.ingressUpstream.port });
    const web = await client.get<{ status: { availableReplicas?: number } }>(resourcePath('apps/v1', 'Deployment', 't-acme', 'odoo-web'));
    expect(web?.status.availableReplicas).toBe(2);
    const pods = await client.get<{ items: PodView[] }>('/api/v1/namespaces/t-acme/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dweb');
    const nodes = pods?.items.map((p) => p.spec.nodeName) ?? [];
    expect(nodes).toHaveLength(2);
    expect(new Set(nodes).size).toBe(2);
    expect(await runtime.status(spec.tenantId)).toMatchObject({ state: 'running', workload: 'namespace:t-acme' });

    // The plan's code labels the namespace, its storage sizes the quota and the filestore volume.
    const planLabel = async () =>
      (await client.get<{ metadata: { labels: Record<string, string> } }>(resourcePath('v1', 'Namespace', undefined, 't-acme')))?.metadata
        .labels[LABELS.plan];
    const hardQuota = async () =>
      (await client.get<{ spec: { hard: Record<string, string> } }>(resourcePath('v1', 'ResourceQuota', 't-acme', 'plan')))?.spec.hard ??
      {};
    expect(await planLabel()).toBe('standard');
    expect((await hardQuota())['requests.storage']).toBe('12Gi');

    // A plan change: the quota, the pods' limits and the plan label change in place.
    await runtime.updateLimits?.(spec.tenantId, { cpu: 4, memoryMiB: 4096, storageGiB: 40 }, 'premium');
    const resized = planSizing({
      code: 'x',
      limits: { cpu: 4, memoryMiB: 4096, storageGiB: 40 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 2 },
    });
    expect(await hardQuota()).toMatchObject({ 'limits.memory': `${resized.quota.memoryMiB}Mi`, 'requests.storage': '40Gi' });
    expect(await planLabel()).toBe('premium');
    // The filestore claim keeps the size it was made with (the API server refuses changing it), relabelled.
    const claim = await client.get<{
      metadata: { labels: Record<string, string> };
      spec: { resources: { requests: { storage: string } } };
    }>(resourcePath('v1', 'PersistentVolumeClaim', 't-acme', 'odoo-data'));
    expect(claim?.spec.resources.requests.storage).toBe('12Gi');
    expect(claim?.metadata.labels[LABELS.plan]).toBe('premium');
    const after = await client.get<{ items: PodView[] }>(
      '/api/v1/namespaces/t-acme/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dweb',
    );
    const running = after?.items.filter((p) => p.status?.phase === 'Running') ?? [];
    expect(running.map((p) => p.spec.containers[0]?.resources?.limits?.memory)).toContain(`${resized.pod.memoryMiB}Mi`);

    // Stop: scaled to zero, reported stopped; a restarted runtime finds nothing to serve.
    await runtime.unserve(spec.tenantId);
    expect(await runtime.status(spec.tenantId)).toMatchObject({ state: 'stopped' });
    const restarted = createKubernetesRuntime({ client, settings, secretKey: 'test-secret-key' });
    expect((await restarted.start()).map((r) => r.tenantId)).not.toContain(spec.tenantId);

    // Delete: awaited until the namespace is gone.
    await runtime.remove(spec.tenantId);
    expect(await client.get(resourcePath('v1', 'Namespace', undefined, 't-acme'))).toBeUndefined();
    expect(await runtime.status(spec.tenantId)).toBeUndefined();
  }, 180_000);

  it('a restarted runtime restores the tenants that still run', async () => {
    const spec = kubeServeSpec('beta', 1);
    await runtime.serve(spec);
    const restarted = createKubernetesRuntime({ client, settings, secretKey: 'test-secret-key' });
    expect(await restarted.start()).toContainEqual({
      tenantId: spec.tenantId,
      upstream: { host: settings.ingressUpstream.host, port: 80 },
    });
  }, 120_000);

  it('a rollout that cannot progress fails with ProgressDeadlineExceeded and the pod events', async () => {
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stuck' } });
    await client.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace: 'stuck' },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 2,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          // No node has this label: the scheduler never places the pod.
          spec: { nodeSelector: { 'no-such-node': 'true' }, containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    });
    const error = await waitForRollout(client, 'stuck', 'stuck', { timeoutMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RolloutFailedError);
    expect((error as Error).message).toContain('exceeded its progress deadline');
    expect((error as Error).message).toContain('FailedScheduling');
  });
});

const realCluster = process.env.KUBECONFIG;
if (!realCluster)
  console.log('Kubernetes real-cluster checks skipped: KUBECONFIG is not set (set it to run the dry-run checks against a cluster)');

describe.skipIf(!realCluster)('Kubernetes manifests against the cluster in KUBECONFIG (server dry-run)', () => {
  it('every plan that runs dedicated tenants is admitted by the server in dry-run', async () => {
    const client = createKubeClient(kubeConfigFrom({ kubeconfigPath: realCluster }));
    for (const plan of defaultCatalog.filter((p) => p.placement.processStrategy === 'dedicated')) {
      const name = `saas-dry-run-${plan.code}`;
      // The namespace must exist for namespaced dry-runs: it is created for real, then removed.
      const [namespace, ...rest] = manifestsFor(name, plan.code);
      await client.apply(namespace as KubeObject);
      try {
        for (const object of rest) await client.apply(object, { dryRun: true });
      } finally {
        await client.remove(resourcePath('v1', 'Namespace', undefined, `t-${name}`));
      }
    }
  }, 120_000);
});
