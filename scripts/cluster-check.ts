/**
 * scripts/check-distribution and scripts/check-isolation: seed 000's checks of a running cluster,
 * with the kubeconfig in KUBECONFIG (or KUBERNETES_KUBECONFIG, or ~/.kube/config). Exit 0 when the
 * check holds, 1 when it does not, 2 when it could not run.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkDistribution, checkIsolation, formatDistribution } from '../src/cluster-checks/index.js';
import { createKubeClient, DEFAULT_KUBERNETES_SETTINGS, kubeConfigFrom } from '../src/runtimes/kubernetes/index.js';

const USAGE = `usage:
  scripts/check-distribution [--max-skew N]
      where the tenants' pods run: each tenant's web pods on distinct nodes, tenants per node within N (default 1)
  scripts/check-isolation [--image busybox:1.36] [--ingress-namespace traefik] [--timeout-seconds 120] [namespace...]
      probe pods try each tenant's Service: the ingress controller's namespace must get in, a scratch
      namespace and the other tenants must not (needs a cluster that runs pods and enforces NetworkPolicies)`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value\n${USAGE}`);
  args.splice(i, 2);
  return value;
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (command !== 'distribution' && command !== 'isolation') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const kubeconfigPath =
    process.env.KUBECONFIG ?? process.env.KUBERNETES_KUBECONFIG ?? (existsSync(join(homedir(), '.kube', 'config')) ? join(homedir(), '.kube', 'config') : undefined);
  if (!kubeconfigPath && !process.env.KUBERNETES_SERVICE_HOST) throw new Error('no cluster: set KUBECONFIG to the kubeconfig of the cluster to check');
  const client = createKubeClient(kubeConfigFrom(kubeconfigPath ? { kubeconfigPath } : {}));
  if (command === 'distribution') {
    const maxSkew = Number(option(args, '--max-skew') ?? 1);
    if (!Number.isInteger(maxSkew) || maxSkew < 0) throw new Error('--max-skew must be a whole number >= 0');
    if (args.length > 0) throw new Error(`unexpected ${args.join(' ')}\n${USAGE}`);
    const report = await checkDistribution(client, { maxSkew });
    process.stdout.write(`${formatDistribution(report).join('\n')}\n`);
    return report.problems.length === 0 ? 0 : 1;
  }
  const image = option(args, '--image') ?? 'busybox:1.36';
  const ingressNamespace =
    option(args, '--ingress-namespace') ?? process.env.KUBERNETES_INGRESS_NAMESPACE ?? DEFAULT_KUBERNETES_SETTINGS.ingressControllerNamespace;
  const timeoutSeconds = Number(option(args, '--timeout-seconds') ?? 120);
  const unknown = args.find((a) => a.startsWith('--'));
  if (unknown) throw new Error(`unknown option ${unknown}\n${USAGE}`);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new Error('--timeout-seconds must be a number > 0');
  const result = await checkIsolation(client, {
    image,
    ingressNamespace,
    timeoutMs: timeoutSeconds * 1000,
    ...(args.length > 0 ? { tenantNamespaces: args } : {}),
    onProgress: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stdout.write(`${result.lines.join('\n')}\n${result.ok ? 'OK: tenants are isolated' : 'NOT ISOLATED (or not checked): see the lines above'}\n`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`check failed to run: ${error.message}\n`);
    process.exit(2);
  },
);
