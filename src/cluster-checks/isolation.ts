/**
 * Seed 000's network isolation check: probe pods try to open a TCP connection to tenants'
 * Services, and each attempt must end as the network policies say. Pure parts here (which
 * probes, their pod, reading their verdict, judging); scripts/check-isolation runs them on a
 * cluster with a real pod network (kwok's fake nodes run no pods).
 */
export interface IsolationProbe {
  /** What the probe shows, e.g. "t-a cannot reach t-b". */
  title: string;
  /** Namespace the probe pod runs in. */
  from: string;
  host: string;
  port: number;
  expect: 'open' | 'blocked';
}

export interface IsolationPlanInput {
  /** Tenant namespaces to check (at least two for the between-tenant probes). */
  tenantNamespaces: readonly string[];
  /** The ingress controller's namespace: the only one allowed in (the positive control). */
  ingressNamespace: string;
  /** A namespace without policies the script makes: "anything else in the cluster". */
  outsiderNamespace: string;
  service?: string;
  port?: number;
}

/**
 * For each tenant: the ingress controller's namespace reaches it (proves the probe and the
 * network work, so a "blocked" is the policy's doing), an outsider namespace does not, and
 * every other tenant does not (in a ring, so n tenants cost n probes, not n²).
 */
export function isolationProbes(input: IsolationPlanInput): IsolationProbe[] {
  const service = input.service ?? 'odoo';
  const port = input.port ?? 8069;
  const hostOf = (ns: string) => `${service}.${ns}.svc.cluster.local`;
  const tenants = input.tenantNamespaces;
  return tenants.flatMap((target, i) => {
    const neighbour = tenants[(i + 1) % tenants.length];
    return [
      {
        title: `${input.ingressNamespace} reaches ${target} (control)`,
        from: input.ingressNamespace,
        host: hostOf(target),
        port,
        expect: 'open' as const,
      },
      {
        title: `${input.outsiderNamespace} cannot reach ${target}`,
        from: input.outsiderNamespace,
        host: hostOf(target),
        port,
        expect: 'blocked' as const,
      },
      ...(neighbour && neighbour !== target
        ? [{ title: `${neighbour} cannot reach ${target}`, from: neighbour, host: hostOf(target), port, expect: 'blocked' as const }]
        : []),
    ];
  });
}

export const PROBE_LABEL = 'saas.odoo/isolation-probe';

/** The probe pod: admitted under Pod Security `restricted` (tenant namespaces enforce it), tiny, never restarted. */
export function probePod(probe: IsolationProbe, name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: probe.from, labels: { [PROBE_LABEL]: 'true' } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'probe',
          image,
          // Prints one verdict line; exits 0 either way (the verdict is the line, not the status).
          command: ['sh', '-c', `if nc -z -w 5 ${probe.host} ${probe.port}; then echo PROBE-OPEN; else echo PROBE-BLOCKED; fi`],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

/** The verdict line of a probe pod's log, or undefined when it printed none (it did not run). */
export function probeOutcome(log: string): 'open' | 'blocked' | undefined {
  if (log.includes('PROBE-OPEN')) return 'open';
  if (log.includes('PROBE-BLOCKED')) return 'blocked';
  return undefined;
}

export interface ProbeResult {
  probe: IsolationProbe;
  /** What happened; a string when the probe could not run (image pull, admission). */
  outcome: 'open' | 'blocked' | string;
}

/** Lines to print and whether isolation holds: every probe ran and ended as expected. */
export function judgeIsolation(results: readonly ProbeResult[]): { ok: boolean; lines: string[] } {
  const lines = results.map(({ probe, outcome }) => {
    const verdict = outcome === probe.expect ? 'PASS' : outcome === 'open' || outcome === 'blocked' ? 'FAIL' : 'ERROR';
    const got = outcome === 'open' || outcome === 'blocked' ? outcome : `did not run: ${outcome}`;
    return `${verdict} ${probe.title}: ${probe.host}:${probe.port} ${got} (expected ${probe.expect})`;
  });
  return { ok: results.length > 0 && results.every((r) => r.outcome === r.probe.expect), lines };
}
