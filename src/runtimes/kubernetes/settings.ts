/**
 * What an operator sets for the Kubernetes runtime (the cluster's conventions), with defaults
 * that suit a cluster with Traefik, cert-manager and CloudNativePG installed.
 */
export interface KubernetesSettings {
  /** The Odoo image, e.g. `odoo:17` (the official image; its `odoo` user is uid/gid 101). */
  image: string;
  /** Namespaces of dedicated tenants are `<prefix><tenant name>`. */
  namespacePrefix: string;
  /** The shared namespace of the pools (one Deployment per pool). */
  poolNamespace: string;
  /** `ingressClassName` of the tenants' Ingresses. */
  ingressClassName: string;
  /** Namespace of the ingress controller: the only source of traffic a tenant's pods accept. */
  ingressControllerNamespace: string;
  /**
   * Where the platform gateway reaches the ingress controller (its in-cluster Service): the
   * tenants' upstream. The gateway sends the tenant's host, the controller routes by it.
   */
  ingressUpstream: { host: string; port: number };
  /** Namespace of the cluster DNS (egress to UDP/TCP 53 there is allowed). */
  dnsNamespace: string;
  /** TLS of tenant hosts under the platform's domain: a wildcard certificate secret (copied into each namespace by the operator's tooling). */
  wildcardTlsSecretName?: string | undefined;
  /** cert-manager ClusterIssuer for custom domains. */
  clusterIssuer?: string | undefined;
  /** StorageClass of the filestore volume (omitted: the cluster's default); `rwxStorageClassName` when replicas > 1. */
  storageClassName?: string | undefined;
  rwxStorageClassName?: string | undefined;
  /** Numeric user and group Odoo runs as (restricted Pod Security needs numeric ids). */
  runAsUser: number;
  fsGroup: number;
  /** Odoo prefork workers per web pod (0: threaded, no separate websocket port). */
  odooWorkers: number;
  /** Where a shared PostgreSQL server is, for the egress policy (an IP block and port). */
  sharedDatabase: { cidr: string; port: number };
  /** Seconds a rollout may make no progress before it is failed (Deployment progressDeadlineSeconds). */
  progressDeadlineSeconds: number;
  /** CloudNativePG instances of a dedicated database and its storage class (omitted: default). */
  dedicatedDatabase: { instances: number; storageClassName?: string | undefined; imageName?: string | undefined };
}

export const DEFAULT_KUBERNETES_SETTINGS: KubernetesSettings = {
  image: 'odoo:17',
  namespacePrefix: 't-',
  poolNamespace: 'odoo-pools',
  ingressClassName: 'traefik',
  ingressControllerNamespace: 'traefik',
  ingressUpstream: { host: 'traefik.traefik.svc.cluster.local', port: 80 },
  dnsNamespace: 'kube-system',
  runAsUser: 101,
  fsGroup: 101,
  odooWorkers: 0,
  sharedDatabase: { cidr: '10.0.0.0/8', port: 5432 },
  progressDeadlineSeconds: 600,
  dedicatedDatabase: { instances: 1 },
};
