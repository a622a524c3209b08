import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  accessResourceName,
  createKubeClient,
  DEFAULT_KUBERNETES_SETTINGS,
  type KubeClient,
  kubeConfigFrom,
  RUNTIME_ACCESS,
} from '../runtimes/index.js';
import type { DoctorCheck } from './doctor.js';

const ENABLES = 'the kubernetes runtime: plans with `runtime: kubernetes` run each tenant in a namespace of its own';
const REACH_TIMEOUT_MS = 10_000;

/** The kubeconfig the platform would use (KUBERNETES_KUBECONFIG), else kubectl's, else the pod's service account. */
function kubeconfigSource(env: NodeJS.ProcessEnv): { path?: string; label: string } | undefined {
  if (env.KUBERNETES_KUBECONFIG) return { path: env.KUBERNETES_KUBECONFIG, label: `KUBERNETES_KUBECONFIG=${env.KUBERNETES_KUBECONFIG}` };
  if (env.KUBECONFIG) return { path: env.KUBECONFIG, label: `KUBECONFIG=${env.KUBECONFIG}` };
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return { path: home, label: home };
  if (env.KUBERNETES_SERVICE_HOST) return { label: 'the pod service account' };
  return undefined;
}

/**
 * The optional cluster pieces the runtime relies on: how each is recognised and what is lost
 * without it. A CRD being served says the piece is installed; whether its controller is healthy
 * shows only when objects of that kind make progress.
 */
export interface ClusterAddon {
  name: string;
  /** An API path that answers 200 when the piece is installed. */
  path: string;
  /** From that answer: installed and usable, or why not. */
  judge(body: unknown): true | string;
  enables: string;
  /** What is lost without it. */
  without: string;
  fix: string;
  /** Tenants cannot be served without it (missing), or only a feature is lost (warning). */
  required: boolean;
}

interface Conditioned {
  status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
}

function condition(type: string) {
  return (body: unknown): true | string => {
    const found = (body as Conditioned).status?.conditions?.find((c) => c.type === type);
    return found?.status === 'True' ? true : `not ${type}${found?.message ? `: ${found.message}` : ''}`;
  };
}

export function clusterAddons(ingressClass: string): ClusterAddon[] {
  return [
    {
      name: `Ingress controller (class ${ingressClass})`,
      path: `/apis/networking.k8s.io/v1/ingressclasses/${encodeURIComponent(ingressClass)}`,
      judge: (body) => {
        const controller = (body as { spec?: { controller?: string } }).spec?.controller;
        return controller ? true : 'the IngressClass names no controller';
      },
      enables: 'reaching Kubernetes tenants: the gateway forwards to the controller, which routes by host to the tenant',
      without: 'no Kubernetes tenant can be reached (their Ingresses are served by no controller)',
      fix: `install Traefik (its Helm chart makes the IngressClass "traefik") or set KUBERNETES_INGRESS_CLASS to your controller's class; docs/kubernetes.md`,
      required: true,
    },
    {
      name: 'cert-manager',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/certificates.cert-manager.io',
      judge: condition('Established'),
      enables: "certificates for Kubernetes tenants' custom domains (the cert-manager.io/cluster-issuer annotation)",
      without: 'custom domains of Kubernetes tenants get no certificate',
      fix: 'install cert-manager and a ClusterIssuer; docs/kubernetes.md',
      required: false,
    },
    {
      name: 'CloudNativePG',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.postgresql.cnpg.io',
      judge: condition('Established'),
      enables: 'dedicated-database plans on Kubernetes (a CloudNativePG Cluster per tenant) and the Helm chart’s platform database',
      without: 'tenants of dedicated-database plans cannot be created on Kubernetes (the API server refuses their Cluster object)',
      fix: 'install the CloudNativePG operator; docs/kubernetes.md',
      required: false,
    },
    {
      name: 'metrics-server',
      path: '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io',
      judge: condition('Available'),
      enables: 'autoscaling of plans with several replicas (HorizontalPodAutoscalers read pod CPU from it)',
      without: 'tenants of autoscaled plans stay at their minimum replicas',
      fix: 'install metrics-server; docs/kubernetes.md',
      required: false,
    },
  ];
}

interface AccessReview {
  status?: { allowed?: boolean; reason?: string };
}

/** Each verb the runtime uses, asked of the API server for the credentials in use (SelfSubjectAccessReview). */
export async function deniedAccess(client: KubeClient): Promise<Array<{ rule: string; why: string }>> {
  const asks = RUNTIME_ACCESS.flatMap((access) => access.verbs.map((verb) => ({ access, verb })));
  const answers = await Promise.all(
    asks.map(({ access, verb }) =>
      client.call<AccessReview>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        // No namespace: all of them, as the tenants' namespaces are made later.
        spec: { resourceAttributes: { group: access.group, resource: access.resource, subresource: access.subresource, verb } },
      }),
    ),
  );
  return asks.flatMap(({ access, verb }, i) =>
    answers[i]?.status?.allowed
      ? []
      : [{ rule: `${verb} ${accessResourceName(access)}${access.group ? `.${access.group}` : ''}`, why: access.why }],
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `saasctl doctor`'s Kubernetes lines: the cluster answers (its version), the credentials allow
 * every verb the runtime uses, and which optional pieces are installed, each with what its
 * absence disables. An unreachable cluster is one line: nothing else can be asked.
 */
export async function kubernetesChecks(env: NodeJS.ProcessEnv = process.env): Promise<DoctorCheck[]> {
  const enabled = Boolean(env.KUBERNETES_KUBECONFIG);
  const switchNote = enabled ? '' : '; KUBERNETES_KUBECONFIG is unset, so kubernetes plans are not served';
  const source = kubeconfigSource(env);
  if (!source) {
    return [
      {
        name: 'Kubernetes cluster',
        status: 'warning',
        found: `no kubeconfig: KUBERNETES_KUBECONFIG and KUBECONFIG unset, no ~/.kube/config, not in a pod${switchNote}`,
        enables: ENABLES,
        fix: 'set KUBERNETES_KUBECONFIG to a kubeconfig for the platform (docs/operations/kubernetes.md)',
      },
    ];
  }
  let client: KubeClient;
  let version: { gitVersion?: string } | undefined;
  try {
    client = createKubeClient(kubeConfigFrom(source.path === undefined ? {} : { kubeconfigPath: source.path }));
    version = await withTimeout(client.get<{ gitVersion?: string }>('/version'), REACH_TIMEOUT_MS, 'the API server');
  } catch (error) {
    return [
      {
        name: 'Kubernetes cluster',
        status: enabled ? 'missing' : 'warning',
        found: `${source.label}: ${(error as Error).message}${switchNote}`,
        enables: ENABLES,
        fix: 'check that the cluster is up and that the kubeconfig names it (kubectl --kubeconfig <file> version)',
      },
    ];
  }
  const checks: DoctorCheck[] = [
    {
      name: 'Kubernetes cluster',
      status: enabled ? 'ok' : 'warning',
      found: `Kubernetes ${version?.gitVersion ?? '(version unknown)'} at ${client.server} (${source.label})${switchNote}`,
      enables: ENABLES,
      ...(enabled ? {} : { fix: 'set KUBERNETES_KUBECONFIG to this kubeconfig to serve kubernetes plans' }),
    },
  ];

  const denied = await deniedAccess(client);
  checks.push({
    name: 'Kubernetes permissions',
    status: denied.length === 0 ? 'ok' : 'missing',
    found:
      denied.length === 0
        ? 'every verb the runtime uses is allowed'
        : `not allowed: ${denied.map((d) => `${d.rule} (${d.why})`).join('; ')}`,
    enables: 'creating, stopping, changing and deleting tenants in the cluster',
    ...(denied.length === 0
      ? {}
      : { fix: 'grant the ClusterRole of deploy/helm/odoo-saas/templates/rbac.yaml to this account (docs/kubernetes.md)' }),
  });

  for (const addon of clusterAddons(env.KUBERNETES_INGRESS_CLASS ?? DEFAULT_KUBERNETES_SETTINGS.ingressClassName)) {
    const verdict = await client.get(addon.path).then(
      (body) => (body === undefined ? 'not installed' : addon.judge(body)),
      (error: Error) => `cannot tell: ${error.message}`,
    );
    checks.push({
      name: addon.name,
      status: verdict === true ? 'ok' : addon.required ? 'missing' : 'warning',
      found: verdict === true ? 'installed' : `${verdict}: ${addon.without}`,
      enables: addon.enables,
      ...(verdict === true ? {} : { fix: addon.fix }),
    });
  }
  return checks;
}
