/**
 * What the Kubernetes runtime asks of the API server, with why: the one list behind the Helm
 * chart's ClusterRole (deploy/helm/odoo-saas/templates/rbac.yaml, checked equal by its test) and
 * `saasctl doctor`'s permission checks (a SelfSubjectAccessReview per verb).
 *
 * Namespaced rights are needed in every tenant namespace, which do not exist yet when access is
 * granted, so they are asked for across all namespaces; the chart narrows writes to the platform's
 * own namespaces with an admission policy.
 */
export interface RuntimeAccess {
  /** API group ('' is the core group). */
  group: string;
  resource: string;
  subresource?: string;
  verbs: readonly string[];
  namespaced: boolean;
  why: string;
}

export const RUNTIME_ACCESS: readonly RuntimeAccess[] = [
  {
    group: '',
    resource: 'namespaces',
    verbs: ['get', 'list', 'create', 'patch', 'delete'],
    namespaced: false,
    why: 'a namespace per tenant: made by server-side apply, found again by label after a restart, deleted with the tenant',
  },
  ...['resourcequotas', 'limitranges', 'secrets', 'persistentvolumeclaims', 'services'].map((resource) => ({
    group: '',
    resource,
    verbs: ['create', 'patch'],
    namespaced: true,
    why: 'server-side apply of the tenant objects (create when new, patch after); secrets are written, never read',
  })),
  { group: '', resource: 'pods', verbs: ['get', 'list'], namespaced: true, why: 'finding a web pod for the tenant logs' },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'], namespaced: true, why: 'the tenant logs' },
  { group: '', resource: 'events', verbs: ['list'], namespaced: true, why: 'pod events in the error of a failed rollout' },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['get', 'create', 'patch'],
    namespaced: true,
    why: 'the web and cron Deployments, and their status while a rollout is awaited',
  },
  { group: 'apps', resource: 'deployments', subresource: 'scale', verbs: ['patch'], namespaced: true, why: 'stop (scale to 0) and start' },
  ...['networkpolicies', 'ingresses'].map((resource) => ({
    group: 'networking.k8s.io',
    resource,
    verbs: ['create', 'patch'],
    namespaced: true,
    why: 'the tenant isolation policies and its Ingress',
  })),
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verbs: ['create', 'patch'],
    namespaced: true,
    why: 'the autoscaler of plans with more than one replica',
  },
  {
    group: 'postgresql.cnpg.io',
    resource: 'clusters',
    verbs: ['create', 'patch'],
    namespaced: true,
    why: 'the CloudNativePG cluster of dedicated-database plans',
  },
];

/** The rule as an RBAC rule's resource name (`pods/log`). */
export function accessResourceName(access: RuntimeAccess): string {
  return access.subresource ? `${access.resource}/${access.subresource}` : access.resource;
}
