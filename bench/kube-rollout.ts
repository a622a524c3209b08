/**
 * Kubernetes runtime: time from `serve` (create: every manifest applied by server-side apply)
 * to the web and cron Deployments available, on a real API server with kwok fake nodes
 * (test/helpers/kube-control-plane.ts). The pods run nothing (kwok reports them Running and
 * Ready at once), so this is the platform's and the control plane's part of a tenant's start:
 * apply, admission, controllers, scheduler, the rollout wait. Image pulls and Odoo's own start
 * come on top on a real cluster.
 */
import { randomUUID } from 'node:crypto';
import { createKubeClient, createKubernetesRuntime, DEFAULT_KUBERNETES_SETTINGS, kubeConfigFrom } from '../src/runtimes/index.js';
import { startKubeControlPlane } from '../test/helpers/kube-control-plane.js';
import { loadAverage, percentile } from './lib.js';

const tenants = Number(process.env.BENCH_TENANTS ?? 10);
const replicas = Number(process.env.BENCH_REPLICAS ?? 2);

const startLoad = loadAverage();
const planeStarted = performance.now();
const plane = await startKubeControlPlane();
const planeMs = performance.now() - planeStarted;
try {
  const client = createKubeClient(kubeConfigFrom({ kubeconfig: plane.kubeconfig }));
  const runtime = createKubernetesRuntime({
    client,
    settings: DEFAULT_KUBERNETES_SETTINGS,
    secretKey: 'bench-secret',
    rolloutTimeoutMs: 120_000,
  });
  const times: number[] = [];
  for (let i = 0; i < tenants; i++) {
    const started = performance.now();
    await runtime.serve({
      tenantId: randomUUID(),
      tenantName: `bench${i}`,
      hostName: `bench${i}.example.test`,
      databaseName: `t_bench${i}`,
      processStrategy: 'dedicated',
      databaseServerId: 'shared',
      tenantRole: { host: '10.1.2.3', port: 5432, user: `t_bench${i}`, password: 'p' },
      limits: { cpu: 2, memoryMiB: 2048 },
      replicas,
    });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const ms = (v: number) => `${Math.round(v).toLocaleString('en')} ms`;
  console.log(`control plane start (etcd, apiserver, controllers, scheduler, kwok, 3 fake nodes): ${ms(planeMs)}`);
  console.log(
    `create -> Deployments available, ${tenants} tenants with ${replicas} web replicas + cron: p50 ${ms(percentile(times, 50))}, p95 ${ms(percentile(times, 95))}, max ${ms(times[times.length - 1] ?? 0)}`,
  );
  console.log(`load average: ${startLoad} -> ${loadAverage()}`);
} finally {
  await plane.stop();
}
