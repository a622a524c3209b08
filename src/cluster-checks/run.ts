/** The I/O of the cluster checks: what the API server is asked, and the probe pods' lifecycle. */
import { randomBytes } from 'node:crypto';
import { type KubeClient, KUBERNETES_LABELS as LABELS } from '../runtimes/index.js';
import { type DistributionReport, judgeDistribution, type PlacedPod } from './distribution.js';
import { isolationProbes, judgeIsolation, type ProbeResult, probeOutcome, probePod } from './isolation.js';

interface PodItem {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }>;
  };
}

interface NodeItem {
  metadata: { name: string };
  spec?: { unschedulable?: boolean; taints?: Array<{ effect: string }> };
}

const PART_OF = `${LABELS.partOf}=odoo-saas`;

/** Where the platform's tenant and pool pods run, judged (scripts/check-distribution). */
export async function checkDistribution(client: KubeClient, options: { maxSkew?: number } = {}): Promise<DistributionReport> {
  const nodes = (await client.get<{ items: NodeItem[] }>('/api/v1/nodes'))?.items ?? [];
  // Nodes that take pods: a cordoned or NoSchedule-tainted node (a control plane) is not expected to hold tenants.
  const schedulable = nodes.filter((n) => !n.spec?.unschedulable && !n.spec?.taints?.some((t) => t.effect === 'NoSchedule'));
  const pods = (await client.get<{ items: PodItem[] }>(`/api/v1/pods?labelSelector=${encodeURIComponent(PART_OF)}`))?.items ?? [];
  const placed: PlacedPod[] = pods.map((p) => ({
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    tenant: p.metadata.labels?.[LABELS.tenant] ?? p.metadata.labels?.[LABELS.pool] ?? p.metadata.namespace,
    component: p.metadata.labels?.[LABELS.component] ?? '',
    nodeName: p.spec?.nodeName,
    phase: p.status?.phase,
  }));
  return judgeDistribution(
    placed,
    schedulable.map((n) => n.metadata.name),
    options,
  );
}

export interface IsolationOptions {
  ingressNamespace: string;
  /** busybox-like: `sh` and `nc -z -w`. */
  image: string;
  /** Tenant namespaces; default: every namespace the runtime made (its tenant-id label). */
  tenantNamespaces?: readonly string[];
  timeoutMs?: number;
  onProgress?: (line: string) => void;
}

async function podOutcome(client: KubeClient, namespace: string, name: string, deadline: number): Promise<string> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  for (;;) {
    const pod = await client.get<PodItem>(path);
    const phase = pod?.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      const log = await client.call<unknown>('GET', `${path}/log`).catch((e: Error) => e.message);
      return probeOutcome(typeof log === 'string' ? log : '') ?? `pod ${phase} without a verdict line: ${String(log).slice(0, 200)}`;
    }
    if (Date.now() > deadline) {
      const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
      return `pod still ${phase ?? 'absent'}${waiting ? ` (${waiting.reason}: ${waiting.message ?? ''})` : ''}`;
    }
    // Polling: the pod's phase is written by its kubelet, there is nothing local to wait on.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Runs the probes (isolation.ts) as pods and judges them. Makes one scratch namespace without
 * policies (the outsider) and a pod per probe; removes both whatever happens.
 */
export async function checkIsolation(
  client: KubeClient,
  options: IsolationOptions,
): Promise<{ ok: boolean; lines: string[]; results: ProbeResult[] }> {
  const tenants =
    options.tenantNamespaces ??
    (
      (
        await client.get<{ items: Array<{ metadata: { name: string } }> }>(
          `/api/v1/namespaces?labelSelector=${encodeURIComponent(LABELS.tenantId)}`,
        )
      )?.items ?? []
    ).map((n) => n.metadata.name);
  if (tenants.length === 0)
    throw new Error('no tenant namespace found (label saas.odoo/tenant-id): create a Kubernetes tenant first, or name namespaces');
  const suffix = randomBytes(3).toString('hex');
  const outsider = `odoo-saas-isolation-check-${suffix}`;
  const probes = isolationProbes({ tenantNamespaces: tenants, ingressNamespace: options.ingressNamespace, outsiderNamespace: outsider });
  const created: Array<{ namespace: string; name: string }> = [];
  try {
    await client.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: outsider } });
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const started = await Promise.all(
      probes.map(async (probe, i) => {
        const name = `isolation-probe-${suffix}-${i}`;
        try {
          await client.call('POST', `/api/v1/namespaces/${encodeURIComponent(probe.from)}/pods`, probePod(probe, name, options.image));
          created.push({ namespace: probe.from, name });
          return { probe, name, error: undefined };
        } catch (error) {
          return { probe, name, error: (error as Error).message };
        }
      }),
    );
    const results: ProbeResult[] = [];
    for (const s of started) {
      const outcome = s.error ?? (await podOutcome(client, s.probe.from, s.name, deadline));
      results.push({ probe: s.probe, outcome });
      options.onProgress?.(`${s.probe.title}: ${outcome}`);
    }
    return { ...judgeIsolation(results), results };
  } finally {
    for (const pod of created) {
      await client
        .remove(`/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`)
        .catch(() => undefined);
    }
    await client.remove(`/api/v1/namespaces/${outsider}`).catch(() => undefined);
  }
}
