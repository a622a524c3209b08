/**
 * Seed 000's "tenants distributed across cluster nodes", checked from what the API server says:
 * where each tenant's pods run. Pure: the script (scripts/check-distribution) fetches the pods
 * and nodes, this judges them.
 */
export interface PlacedPod {
  namespace: string;
  name: string;
  tenant: string;
  component: string;
  /** Undefined while the scheduler has not placed it. */
  nodeName?: string | undefined;
  phase?: string | undefined;
}

export interface DistributionReport {
  nodes: Array<{ name: string; pods: number; tenants: number }>;
  tenants: Array<{ tenant: string; pods: number; nodes: string[] }>;
  unscheduled: string[];
  /** What breaks the spread: each names the tenant or node and what is wrong. */
  problems: string[];
}

/**
 * Judges the spread: a tenant whose web pods (more than one) share a node loses them all when
 * that node goes; and the busiest node holds at most `maxSkew` more tenants than the idlest
 * (the anti-affinity between tenants is preferred, so the scheduler may stack them when it must).
 */
export function judgeDistribution(
  pods: readonly PlacedPod[],
  nodeNames: readonly string[],
  options: { maxSkew?: number } = {},
): DistributionReport {
  const maxSkew = options.maxSkew ?? 1;
  const byNode = new Map<string, { pods: number; tenants: Set<string> }>(nodeNames.map((n) => [n, { pods: 0, tenants: new Set() }]));
  const byTenant = new Map<string, { pods: number; nodes: Set<string>; webNodes: string[] }>();
  const unscheduled: string[] = [];
  for (const pod of pods) {
    const tenant = byTenant.get(pod.tenant) ?? { pods: 0, nodes: new Set<string>(), webNodes: [] };
    byTenant.set(pod.tenant, tenant);
    tenant.pods++;
    if (!pod.nodeName) {
      unscheduled.push(`${pod.namespace}/${pod.name}`);
      continue;
    }
    tenant.nodes.add(pod.nodeName);
    if (pod.component === 'web') tenant.webNodes.push(pod.nodeName);
    const node = byNode.get(pod.nodeName) ?? { pods: 0, tenants: new Set<string>() };
    byNode.set(pod.nodeName, node);
    node.pods++;
    node.tenants.add(pod.tenant);
  }
  const problems: string[] = [];
  if (pods.length === 0) problems.push('no tenant or pool pod found (label app.kubernetes.io/part-of=odoo-saas): nothing to judge');
  if (unscheduled.length > 0) problems.push(`${unscheduled.length} pod(s) not scheduled: ${unscheduled.join(', ')}`);
  for (const [name, tenant] of byTenant) {
    const distinct = new Set(tenant.webNodes);
    if (tenant.webNodes.length > 1 && distinct.size < Math.min(tenant.webNodes.length, byNode.size)) {
      problems.push(`tenant ${name}: ${tenant.webNodes.length} web pods on only ${distinct.size} node(s) (${[...distinct].join(', ')})`);
    }
  }
  const counts = [...byNode.values()].map((n) => n.tenants.size);
  if (counts.length > 1) {
    const skew = Math.max(...counts) - Math.min(...counts);
    if (skew > maxSkew) {
      problems.push(
        `tenants per node differ by ${skew} (more than ${maxSkew}): ${[...byNode].map(([n, v]) => `${n}=${v.tenants.size}`).join(', ')}`,
      );
    }
  }
  return {
    nodes: [...byNode].map(([name, n]) => ({ name, pods: n.pods, tenants: n.tenants.size })).sort((a, b) => a.name.localeCompare(b.name)),
    tenants: [...byTenant]
      .map(([tenant, t]) => ({ tenant, pods: t.pods, nodes: [...t.nodes].sort() }))
      .sort((a, b) => a.tenant.localeCompare(b.tenant)),
    unscheduled,
    problems,
  };
}

/** The report as the script prints it. */
export function formatDistribution(report: DistributionReport): string[] {
  return [
    'node                          pods  tenants',
    ...report.nodes.map((n) => `${n.name.padEnd(30)}${String(n.pods).padStart(4)}  ${String(n.tenants).padStart(7)}`),
    '',
    ...report.tenants.map((t) => `tenant ${t.tenant}: ${t.pods} pod(s) on ${t.nodes.join(', ') || 'no node'}`),
    '',
    ...(report.problems.length === 0 ? ['OK: tenants are spread across the nodes'] : report.problems.map((p) => `PROBLEM: ${p}`)),
  ];
}
