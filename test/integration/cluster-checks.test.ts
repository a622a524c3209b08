import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubeClient,
  createKubernetesRuntime,
  DEFAULT_KUBERNETES_SETTINGS,
  kubeConfigFrom,
} from '../../src/runtimes/kubernetes/index.js';
import { type KubeControlPlane, kubeBinaries, kubeServeSpec, startKubeControlPlane } from '../helpers/kube-control-plane.js';

/**
 * scripts/check-distribution against the suite's control plane (the real scheduler places the
 * tenants' pods on kwok's fake nodes), and scripts/check-isolation against the cluster in
 * KUBECONFIG when there is one: it needs pods that really run and a network plugin that
 * enforces NetworkPolicies, which fake nodes are not.
 */
const execFileAsync = promisify(execFile);
const binaries = kubeBinaries();
if ('missing' in binaries) console.log(`check-distribution on the control plane skipped: ${binaries.missing}`);

async function script(name: string, args: string[], kubeconfig: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(`scripts/${name}`, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 300_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

describe.skipIf('missing' in binaries)('scripts/check-distribution on the kwok control plane', () => {
  let plane: KubeControlPlane;

  beforeAll(async () => {
    plane = await startKubeControlPlane({ zones: ['zone-a', 'zone-b', 'zone-c'], volumes: 4 });
  }, 180_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it('says there is nothing to judge before any tenant, then that three tenants (one with two web pods) are spread over three nodes', async () => {
    const empty = await script('check-distribution', [], plane.kubeconfigPath);
    expect(empty.stdout).toContain('PROBLEM: no tenant or pool pod found');
    expect(empty.code).toBe(1);

    const client = createKubeClient(kubeConfigFrom({ kubeconfig: plane.kubeconfig }));
    const runtime = createKubernetesRuntime({
      client,
      settings: DEFAULT_KUBERNETES_SETTINGS,
      secretKey: 'test-secret-key',
      rolloutTimeoutMs: 120_000,
    });
    for (const [name, replicas] of [
      ['spread-a', 2],
      ['spread-b', 1],
      ['spread-c', 1],
    ] as const) {
      await runtime.serve(kubeServeSpec(name, replicas));
    }
    const result = await script('check-distribution', [], plane.kubeconfigPath);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('OK: tenants are spread across the nodes');
    expect(result.stdout).toMatch(/tenant spread-a: 3 pod\(s\) on kwok-node-\d, kwok-node-\d/);
    for (const node of plane.nodes) expect(result.stdout).toContain(node.name);
    expect(result.code).toBe(0);
  }, 300_000);
});

describe('scripts/check-isolation against a real cluster', () => {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) {
    console.log(
      'check-isolation skipped: KUBECONFIG is unset; it needs pods that really run and a network plugin enforcing NetworkPolicies (the suite’s kwok nodes run none). Its pure parts are tested in test/unit/cluster-checks.test.ts',
    );
  }
  it.skipIf(!kubeconfig)(
    'every probe ends as the network policies say (the ingress controller gets in, outsiders and other tenants do not)',
    async () => {
      const result = await script('check-isolation', [], kubeconfig as string);
      expect(result.stdout).toContain('OK: tenants are isolated');
      expect(result.code).toBe(0);
    },
    600_000,
  );
});
