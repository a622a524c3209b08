import { describe, expect, it } from 'vitest';
import {
  formatDistribution,
  isolationProbes,
  judgeDistribution,
  judgeIsolation,
  type PlacedPod,
  probeOutcome,
  probePod,
} from '../../src/cluster-checks/index.js';

const pod = (tenant: string, component: string, nodeName?: string): PlacedPod => ({
  namespace: `t-${tenant}`,
  name: `${tenant}-${component}-${Math.random().toString(36).slice(2, 7)}`,
  tenant,
  component,
  nodeName,
});

describe('judgeDistribution', () => {
  const nodes = ['n1', 'n2', 'n3'];

  it('accepts tenants spread one or two per node, a tenant’s web pods on distinct nodes', () => {
    const report = judgeDistribution(
      [pod('a', 'web', 'n1'), pod('a', 'web', 'n2'), pod('a', 'cron', 'n3'), pod('b', 'web', 'n3'), pod('c', 'web', 'n2')],
      nodes,
    );
    expect(report.problems).toEqual([]);
    expect(report.nodes).toEqual([
      { name: 'n1', pods: 1, tenants: 1 },
      { name: 'n2', pods: 2, tenants: 2 },
      { name: 'n3', pods: 2, tenants: 2 },
    ]);
    expect(formatDistribution(report).at(-1)).toBe('OK: tenants are spread across the nodes');
  });

  it('names a tenant whose web pods share a node, an idle node beside a crowded one, and unscheduled pods', () => {
    const report = judgeDistribution(
      [pod('a', 'web', 'n1'), pod('a', 'web', 'n1'), pod('b', 'web', 'n1'), pod('c', 'web', 'n1'), pod('d', 'web')],
      nodes,
    );
    expect(report.problems).toHaveLength(3);
    expect(report.problems[0]).toMatch(/^1 pod\(s\) not scheduled: t-d\/d-web-/);
    expect(report.problems[1]).toBe('tenant a: 2 web pods on only 1 node(s) (n1)');
    expect(report.problems[2]).toBe('tenants per node differ by 3 (more than 1): n1=3, n2=0, n3=0');
    expect(formatDistribution(report).filter((l) => l.startsWith('PROBLEM: '))).toHaveLength(3);
  });

  it('has nothing to judge without pods, and a wider skew can be allowed', () => {
    expect(judgeDistribution([], nodes).problems).toEqual([
      'no tenant or pool pod found (label app.kubernetes.io/part-of=odoo-saas): nothing to judge',
    ]);
    expect(judgeDistribution([pod('a', 'web', 'n1'), pod('b', 'web', 'n1')], nodes, { maxSkew: 2 }).problems).toEqual([]);
  });
});

describe('isolation probes', () => {
  const probes = isolationProbes({ tenantNamespaces: ['t-a', 't-b', 't-c'], ingressNamespace: 'traefik', outsiderNamespace: 'scratch' });

  it('per tenant: a control from the ingress namespace that must get in, an outsider and the next tenant that must not', () => {
    expect(probes).toHaveLength(9);
    expect(probes.slice(0, 3)).toEqual([
      { title: 'traefik reaches t-a (control)', from: 'traefik', host: 'odoo.t-a.svc.cluster.local', port: 8069, expect: 'open' },
      { title: 'scratch cannot reach t-a', from: 'scratch', host: 'odoo.t-a.svc.cluster.local', port: 8069, expect: 'blocked' },
      { title: 't-b cannot reach t-a', from: 't-b', host: 'odoo.t-a.svc.cluster.local', port: 8069, expect: 'blocked' },
    ]);
    // The ring closes: the last tenant is probed from the first.
    expect(probes.at(-1)?.from).toBe('t-a');
    // One tenant alone has no neighbour to probe from.
    expect(isolationProbes({ tenantNamespaces: ['t-a'], ingressNamespace: 'traefik', outsiderNamespace: 's' })).toHaveLength(2);
  });

  it('probe pods meet Pod Security restricted (tenant namespaces enforce it) and never restart', () => {
    const spec = probePod(probes[2] as (typeof probes)[number], 'p', 'busybox:1.36') as {
      metadata: { namespace: string };
      spec: {
        restartPolicy: string;
        securityContext: Record<string, unknown>;
        containers: Array<{ command: string[]; securityContext: Record<string, unknown> }>;
      };
    };
    expect(spec.metadata.namespace).toBe('t-b');
    expect(spec.spec.restartPolicy).toBe('Never');
    expect(spec.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.spec.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(spec.spec.containers[0]?.command.at(-1)).toContain('nc -z -w 5 odoo.t-a.svc.cluster.local 8069');
  });

  it('reads the verdict line, and passes only when every probe ran and ended as expected', () => {
    expect(probeOutcome('PROBE-OPEN\n')).toBe('open');
    expect(probeOutcome('nc: timeout\nPROBE-BLOCKED\n')).toBe('blocked');
    expect(probeOutcome('exec format error')).toBeUndefined();
    const [control, outsider] = probes as [(typeof probes)[number], (typeof probes)[number]];
    expect(
      judgeIsolation([
        { probe: control, outcome: 'open' },
        { probe: outsider, outcome: 'blocked' },
      ]).ok,
    ).toBe(true);
    const leak = judgeIsolation([
      { probe: control, outcome: 'open' },
      { probe: outsider, outcome: 'open' },
    ]);
    expect(leak.ok).toBe(false);
    expect(leak.lines[1]).toBe('FAIL scratch cannot reach t-a: odoo.t-a.svc.cluster.local:8069 open (expected blocked)');
    // A control that is blocked means the probes prove nothing (no network, wrong port): not ok.
    expect(
      judgeIsolation([
        { probe: control, outcome: 'blocked' },
        { probe: outsider, outcome: 'blocked' },
      ]).ok,
    ).toBe(false);
    const broken = judgeIsolation([{ probe: outsider, outcome: 'pod still Pending (ErrImagePull: )' }]);
    expect(broken.ok).toBe(false);
    expect(broken.lines[0]).toMatch(/^ERROR scratch cannot reach t-a: .* did not run: pod still Pending/);
    expect(judgeIsolation([]).ok).toBe(false);
  });
});
