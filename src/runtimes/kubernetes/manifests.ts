/**
 * The Kubernetes objects of one tenant (or one pool), built from (tenant, plan, settings) by
 * pure functions and typed with kubernetes-models, whose `validate()` checks each against the
 * API's OpenAPI schema. The runtime applies them with server-side apply (apply.ts); the golden
 * tests pin them per plan.
 */
import { createHash } from 'node:crypto';
import { Cluster } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubernetesSettings } from './settings.js';
import { cpu, gibibytes, mebibytes, type PlanShape, type PlanSizing, planSizing } from './sizing.js';

/** Every object this runtime applies: a plain API object (what goes on the wire). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface KubeTenant {
  tenantId: string;
  tenantName: string;
  /** The tenant's host under the platform's domain, and its custom domains (cert-manager certificates). */
  hostName: string;
  customDomains: readonly string[];
}

export const LABELS = {
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
  tenant: 'saas.odoo/tenant',
  plan: 'saas.odoo/plan',
  pool: 'saas.odoo/pool',
  /** On a tenant's namespace: how the runtime finds it again by tenant id (after a restart). */
  tenantId: 'saas.odoo/tenant-id',
} as const;
const PART_OF = 'odoo-saas';
/** The pod annotation whose change rolls the pods when odoo.conf changes (a Secret change alone does not). */
export const CONFIG_HASH_ANNOTATION = 'saas.odoo/config-hash';
export const FIELD_MANAGER = 'odoo-saas';

const HTTP_PORT = 8069;
const WEBSOCKET_PORT = 8072;
const CONFIG_DIR = '/etc/odoo-saas';
const DATA_DIR = '/var/lib/odoo';

export function tenantNamespace(tenantName: string, settings: Pick<KubernetesSettings, 'namespacePrefix'>): string {
  return `${settings.namespacePrefix}${tenantName}`;
}

/** The CloudNativePG cluster of a dedicated-database tenant; Odoo reaches it at `<name>-rw`. */
export const DEDICATED_DATABASE_CLUSTER = 'postgres';

/** Name of the Secret CloudNativePG bootstraps the tenant's role from (basic-auth). */
const DATABASE_CREDENTIALS_SECRET = 'postgres-owner';

/** sha256 of the rendered odoo.conf: the pods' annotation. */
export function configHash(odooConf: string): string {
  return createHash('sha256').update(odooConf).digest('hex');
}

/** A validated plain object: the model checks it against the API schema, toJSON drops what is unset. */
function plain(model: { validate(): void; toJSON(): unknown }): KubeObject {
  model.validate();
  return JSON.parse(JSON.stringify(model.toJSON())) as KubeObject;
}

interface WorkloadShape {
  namespace: string;
  /** Prefix of the Deployments, Service, PVC, Secret (`odoo` for a tenant, the pool's name for a pool). */
  name: string;
  labels: Record<string, string>;
  /** Labels that select this workload's pods (a subset of labels). */
  selector: Record<string, string>;
  sizing: PlanSizing;
  odooConf: string;
  hosts: readonly string[];
  customDomains: readonly string[];
}

/** The namespace-level pieces: the Namespace itself, its quota, the container defaults, the network policies. */
function namespaceObjects(
  namespace: string,
  labels: Record<string, string>,
  sizing: PlanSizing,
  settings: KubernetesSettings,
  databaseEgress: 'shared' | 'dedicated',
): KubeObject[] {
  const pod = sizing.pod;
  const objects: KubeObject[] = [
    plain(
      new Namespace({
        metadata: {
          name: namespace,
          labels: {
            ...labels,
            // Restricted: non-root, no privilege escalation, all capabilities dropped, a seccomp profile.
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      }),
    ),
    plain(
      new ResourceQuota({
        metadata: { name: 'plan', namespace, labels },
        spec: {
          hard: {
            'requests.cpu': cpu(sizing.quota.cpuMilli / 2),
            'limits.cpu': cpu(sizing.quota.cpuMilli),
            'requests.memory': mebibytes(sizing.quota.memoryMiB / 2),
            'limits.memory': mebibytes(sizing.quota.memoryMiB),
            'requests.storage': gibibytes(sizing.quota.storageGiB),
            persistentvolumeclaims: String(sizing.quota.persistentVolumeClaims),
            pods: String(sizing.quota.pods),
            // No tenant exposes itself: traffic comes through the ingress controller only.
            'services.loadbalancers': '0',
            'services.nodeports': '0',
          },
        },
      }),
    ),
    plain(
      new LimitRange({
        metadata: { name: 'plan', namespace, labels },
        spec: {
          limits: [
            {
              // With a quota on requests and limits every container must state both: these fill them in.
              type: 'Container',
              default: { cpu: cpu(pod.cpuMilli), memory: mebibytes(pod.memoryMiB) },
              defaultRequest: { cpu: cpu(pod.cpuMilli / 2), memory: mebibytes(pod.memoryMiB / 2) },
              max: { cpu: cpu(pod.cpuMilli), memory: mebibytes(pod.memoryMiB) },
            },
          ],
        },
      }),
    ),
    plain(
      new NetworkPolicy({
        metadata: { name: 'default-deny', namespace, labels },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      }),
    ),
    plain(
      new NetworkPolicy({
        metadata: { name: 'from-ingress-controller', namespace, labels },
        spec: {
          podSelector: { matchLabels: { [LABELS.component]: 'web' } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.ingressControllerNamespace } } }],
              ports: [
                { protocol: 'TCP', port: HTTP_PORT },
                { protocol: 'TCP', port: WEBSOCKET_PORT },
              ],
            },
          ],
        },
      }),
    ),
    plain(
      new NetworkPolicy({
        metadata: { name: 'to-dns-and-database', namespace, labels },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.dnsNamespace } } }],
              ports: [
                { protocol: 'UDP', port: 53 },
                { protocol: 'TCP', port: 53 },
              ],
            },
            databaseEgress === 'dedicated'
              ? {
                  to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': DEDICATED_DATABASE_CLUSTER } } }],
                  ports: [{ protocol: 'TCP', port: 5432 }],
                }
              : {
                  to: [{ ipBlock: { cidr: settings.sharedDatabase.cidr } }],
                  ports: [{ protocol: 'TCP', port: settings.sharedDatabase.port }],
                },
          ],
        },
      }),
    ),
  ];
  if (databaseEgress === 'dedicated') {
    // The database's own pods talk to each other and to the operator (CloudNativePG's namespace is not known here: in-namespace only).
    objects.push(
      plain(
        new NetworkPolicy({
          metadata: { name: 'database-from-odoo', namespace, labels },
          spec: {
            podSelector: { matchLabels: { 'cnpg.io/cluster': DEDICATED_DATABASE_CLUSTER } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 5432 }] }],
          },
        }),
      ),
    );
  }
  return objects;
}

function podSpec(w: WorkloadShape, settings: KubernetesSettings, role: 'web' | 'cron'): IPodSpec {
  const args = [`--config=${CONFIG_DIR}/odoo.conf`];
  // The web pods never run scheduled actions (one cron pod does, so they do not run twice);
  // the cron pod serves no HTTP.
  if (role === 'web') args.push('--max-cron-threads=0');
  else args.push('--no-http');
  const probe = { httpGet: { path: '/web/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5 };
  const ports: Array<{ name: string; containerPort: number; protocol: 'TCP' }> = [
    { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
  ];
  if (settings.odooWorkers >= 1) ports.push({ name: 'websocket', containerPort: WEBSOCKET_PORT, protocol: 'TCP' });
  const podLabels = { ...w.labels, [LABELS.component]: role };
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: settings.runAsUser,
      runAsGroup: settings.fsGroup,
      fsGroup: settings.fsGroup,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    affinity: {
      podAntiAffinity: {
        // Other tenants' pods elsewhere when the cluster has room: one busy tenant slows fewer others.
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              // Every namespace: without a namespace selector a term looks at the pod's own namespace
              // only, which holds this tenant alone, so the term matched nothing and tenants stacked.
              namespaceSelector: {},
              labelSelector: {
                matchExpressions: [
                  { key: LABELS.partOf, operator: 'In', values: [PART_OF] },
                  ...Object.entries(w.selector).map(([key, value]) => ({ key, operator: 'NotIn', values: [value] })),
                ],
              },
            },
          },
        ],
      },
    },
    topologySpreadConstraints:
      role === 'web'
        ? [
            // Replicas of one tenant on different nodes (a node loss takes one), then zones where possible.
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: podLabels },
              matchLabelKeys: ['pod-template-hash'],
            },
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: podLabels },
              matchLabelKeys: ['pod-template-hash'],
            },
          ]
        : undefined,
    containers: [
      {
        name: 'odoo',
        image: settings.image,
        command: ['odoo'],
        args,
        ports: role === 'web' ? ports : undefined,
        resources: {
          limits: { cpu: cpu(w.sizing.pod.cpuMilli), memory: mebibytes(w.sizing.pod.memoryMiB) },
          requests: { cpu: cpu(w.sizing.pod.cpuMilli / 2), memory: mebibytes(w.sizing.pod.memoryMiB / 2) },
        },
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
        },
        startupProbe: role === 'web' ? { ...probe, failureThreshold: 30 } : undefined,
        readinessProbe: role === 'web' ? { ...probe, failureThreshold: 3 } : undefined,
        livenessProbe: role === 'web' ? { ...probe, failureThreshold: 6 } : undefined,
        volumeMounts: [
          { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
          { name: 'data', mountPath: DATA_DIR },
          // Odoo writes temporary files (uploads, reports); the root file system is read-only.
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      { name: 'config', secret: { secretName: `${w.name}-config`, defaultMode: 0o440 } },
      { name: 'data', persistentVolumeClaim: { claimName: `${w.name}-data` } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    ],
  };
}

function deployment(w: WorkloadShape, settings: KubernetesSettings, role: 'web' | 'cron'): KubeObject {
  const podLabels = { ...w.labels, [LABELS.component]: role };
  return plain(
    new Deployment({
      metadata: { name: `${w.name}-${role}`, namespace: w.namespace, labels: podLabels },
      spec: {
        replicas: role === 'web' ? w.sizing.webReplicas : 1,
        progressDeadlineSeconds: settings.progressDeadlineSeconds,
        selector: { matchLabels: { ...w.selector, [LABELS.component]: role } },
        // The cron pod never runs twice (scheduled actions would run twice): replace, not surge.
        strategy: role === 'cron' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: podLabels, annotations: { [CONFIG_HASH_ANNOTATION]: configHash(w.odooConf) } },
          spec: podSpec(w, settings, role),
        },
      },
    }),
  );
}

function workloadObjects(w: WorkloadShape, settings: KubernetesSettings): KubeObject[] {
  const { namespace, labels } = w;
  const websocket = settings.odooWorkers >= 1;
  const readWriteMany = (w.sizing.autoscale?.maxReplicas ?? w.sizing.webReplicas) > 1;
  const storageClassName = readWriteMany ? settings.rwxStorageClassName : settings.storageClassName;
  const objects: KubeObject[] = [
    plain(
      new Secret({
        metadata: { name: `${w.name}-config`, namespace, labels },
        type: 'Opaque',
        // odoo.conf holds the database password and admin_passwd: a Secret, never a ConfigMap.
        stringData: { 'odoo.conf': w.odooConf },
      }),
    ),
    plain(
      new PersistentVolumeClaim({
        metadata: { name: `${w.name}-data`, namespace, labels },
        spec: {
          // Several web pods share one filestore: they need a volume every node can mount at once.
          accessModes: [readWriteMany ? 'ReadWriteMany' : 'ReadWriteOnce'],
          resources: { requests: { storage: gibibytes(w.sizing.filestoreGiB) } },
          ...(storageClassName ? { storageClassName } : {}),
        },
      }),
    ),
    deployment(w, settings, 'web'),
    deployment(w, settings, 'cron'),
    plain(
      new Service({
        metadata: { name: w.name, namespace, labels },
        spec: {
          type: 'ClusterIP',
          selector: { ...w.selector, [LABELS.component]: 'web' },
          ports: [
            { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
            ...(websocket ? [{ name: 'websocket', port: WEBSOCKET_PORT, targetPort: 'websocket', protocol: 'TCP' as const }] : []),
          ],
        },
      }),
    ),
  ];
  if (w.hosts.length > 0) objects.push(ingress(w, settings));
  if (w.sizing.autoscale) {
    objects.push(
      plain(
        new HorizontalPodAutoscaler({
          metadata: { name: `${w.name}-web`, namespace, labels },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${w.name}-web` },
            minReplicas: w.sizing.autoscale.minReplicas,
            maxReplicas: w.sizing.autoscale.maxReplicas,
            metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
          },
        }),
      ),
    );
  }
  return objects;
}

function ingress(w: WorkloadShape, settings: KubernetesSettings): KubeObject {
  const websocket = settings.odooWorkers >= 1;
  const backend = (port: string) => ({ service: { name: w.name, port: { name: port } } });
  const paths = [
    // Odoo's websocket (bus) runs on its own port only in workers mode; threaded Odoo serves it on 8069.
    ...(websocket ? [{ path: '/websocket', pathType: 'Prefix' as const, backend: backend('websocket') }] : []),
    { path: '/', pathType: 'Prefix' as const, backend: backend('http') },
  ];
  const tls: Array<{ hosts: string[]; secretName: string }> = [];
  const platformHosts = w.hosts.filter((h) => !w.customDomains.includes(h));
  if (settings.wildcardTlsSecretName && platformHosts.length > 0)
    tls.push({ hosts: [...platformHosts], secretName: settings.wildcardTlsSecretName });
  const issued = settings.clusterIssuer !== undefined && w.customDomains.length > 0;
  if (issued) tls.push({ hosts: [...w.customDomains], secretName: `${w.name}-custom-domains-tls` });
  return plain(
    new Ingress({
      metadata: {
        name: w.name,
        namespace: w.namespace,
        labels: w.labels,
        ...(issued ? { annotations: { 'cert-manager.io/cluster-issuer': settings.clusterIssuer as string } } : {}),
      },
      spec: {
        ingressClassName: settings.ingressClassName,
        rules: w.hosts.map((host) => ({ host, http: { paths } })),
        ...(tls.length > 0 ? { tls } : {}),
      },
    }),
  );
}

/** The CloudNativePG cluster of a dedicated-database plan, bootstrapped with the tenant's own role. */
function dedicatedDatabaseObjects(
  namespace: string,
  labels: Record<string, string>,
  sizing: PlanSizing,
  settings: KubernetesSettings,
  database: { name: string; owner: string; password: string },
): KubeObject[] {
  return [
    plain(
      new Secret({
        metadata: { name: DATABASE_CREDENTIALS_SECRET, namespace, labels },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: database.owner, password: database.password },
      }),
    ),
    plain(
      new Cluster({
        metadata: { name: DEDICATED_DATABASE_CLUSTER, namespace, labels },
        spec: {
          instances: settings.dedicatedDatabase.instances,
          ...(settings.dedicatedDatabase.imageName ? { imageName: settings.dedicatedDatabase.imageName } : {}),
          bootstrap: { initdb: { database: database.name, owner: database.owner, secret: { name: DATABASE_CREDENTIALS_SECRET } } },
          storage: {
            size: gibibytes(sizing.databaseGiB ?? 1),
            ...(settings.dedicatedDatabase.storageClassName ? { storageClass: settings.dedicatedDatabase.storageClassName } : {}),
          },
          resources: {
            limits: { cpu: cpu(sizing.pod.cpuMilli), memory: mebibytes(sizing.pod.memoryMiB) },
            requests: { cpu: cpu(sizing.pod.cpuMilli / 2), memory: mebibytes(sizing.pod.memoryMiB / 2) },
          },
        },
      }),
    ),
  ];
}

export interface TenantManifestInput {
  tenant: KubeTenant;
  plan: PlanShape;
  settings: KubernetesSettings;
  /** The rendered odoo.conf (odoo-conf.ts), secrets included. */
  odooConf: string;
  /** For dedicated-database plans: the database CloudNativePG creates and the role that owns it. */
  dedicatedDatabase?: { name: string; owner: string; password: string } | undefined;
}

/** Every object of a dedicated tenant, in apply order (namespace and quota before what they admit). */
export function tenantManifests(input: TenantManifestInput): KubeObject[] {
  const { tenant, plan, settings } = input;
  if (plan.placement.processStrategy !== 'dedicated') throw new Error(`plan ${plan.code} runs tenants in a pool: use poolManifests`);
  const namespace = tenantNamespace(tenant.tenantName, settings);
  const sizing = planSizing(plan);
  const labels = { [LABELS.partOf]: PART_OF, [LABELS.tenant]: tenant.tenantName, [LABELS.plan]: plan.code };
  const dedicated = plan.placement.databaseStrategy === 'dedicated';
  if (dedicated && !input.dedicatedDatabase) throw new Error(`plan ${plan.code} has a dedicated database: its credentials are required`);
  return [
    ...namespaceObjects(namespace, { ...labels, [LABELS.tenantId]: tenant.tenantId }, sizing, settings, dedicated ? 'dedicated' : 'shared'),
    ...(dedicated && input.dedicatedDatabase ? dedicatedDatabaseObjects(namespace, labels, sizing, settings, input.dedicatedDatabase) : []),
    ...workloadObjects(
      {
        namespace,
        name: 'odoo',
        labels,
        selector: { [LABELS.tenant]: tenant.tenantName },
        sizing,
        odooConf: input.odooConf,
        hosts: [tenant.hostName, ...tenant.customDomains],
        customDomains: tenant.customDomains,
      },
      settings,
    ),
  ];
}

export interface PoolManifestInput {
  pool: { name: string };
  /** The pool's size (settings for pools, not a tenant's plan). */
  plan: PlanShape;
  settings: KubernetesSettings;
  odooConf: string;
  /** The hosts of the tenants it serves (one Ingress rule each). */
  hosts: readonly string[];
}

/**
 * A pool: one Odoo serving several tenants' databases (dbfilter by host, list_db off) in the
 * shared pool namespace, with the same pieces as a tenant's (quota and policies for the namespace).
 */
export function poolManifests(input: PoolManifestInput): KubeObject[] {
  const { pool, plan, settings } = input;
  const namespace = settings.poolNamespace;
  const sizing = planSizing(plan);
  const labels = { [LABELS.partOf]: PART_OF, [LABELS.pool]: pool.name, [LABELS.plan]: plan.code };
  const namespaceLabels = { [LABELS.partOf]: PART_OF };
  return [
    ...namespaceObjects(namespace, namespaceLabels, scaledForPools(sizing), settings, 'shared'),
    ...workloadObjects(
      {
        namespace,
        name: `pool-${pool.name}`,
        labels,
        selector: { [LABELS.pool]: pool.name },
        sizing,
        odooConf: input.odooConf,
        hosts: input.hosts,
        customDomains: [],
      },
      settings,
    ),
  ];
}

/** The pool namespace holds several pools: its quota is a multiple of one pool's (a namespace-wide ceiling, not a per-pool one). */
function scaledForPools(sizing: PlanSizing): PlanSizing {
  const pools = 8;
  return {
    ...sizing,
    quota: {
      cpuMilli: sizing.quota.cpuMilli * pools,
      memoryMiB: sizing.quota.memoryMiB * pools,
      pods: sizing.quota.pods * pools,
      storageGiB: sizing.quota.storageGiB * pools,
      persistentVolumeClaims: sizing.quota.persistentVolumeClaims * pools,
    },
  };
}

export type { PlanShape, PlanSizing };
