/**
 * The Kubernetes runtime: a dedicated tenant is a namespace of its own (manifests.ts), applied
 * with server-side apply and awaited like `kubectl rollout status`. Stop scales to zero (the
 * gateway shows its status page), delete removes the namespace and waits until it is gone, a
 * plan change re-applies the quota, the container limits and the replicas in place.
 *
 * Upstream: the gateway reaches every tenant through the cluster's ingress controller (its
 * in-cluster Service), sending the tenant's host; the controller routes by host (and
 * `/websocket`) to the tenant's Service. The gateway stays the only public entry, so its RPC
 * guard sees every request (docs/architecture.md says why not forward-auth).
 */
import { createHmac } from 'node:crypto';
import type { Runtime, TenantServeSpec, Upstream, WorkloadStatus } from '../types.js';
import { KubeApiError, type KubeClient, resourcePath } from './api-client.js';
import { type KubeObject, LABELS, tenantManifests, tenantNamespace } from './manifests.js';
import { tenantOdooConf } from './odoo-conf.js';
import { waitForRollout } from './rollout.js';
import type { KubernetesSettings } from './settings.js';
import { type PlanShape, planSizing } from './sizing.js';

export interface KubernetesRuntimeOptions {
  client: KubeClient;
  settings: KubernetesSettings;
  /** Derives each tenant's Odoo `admin_passwd` (stable, so re-serving does not roll the pods). Never logged. */
  secretKey: string;
  /** The storage of tenants whose serve spec does not say (specs made by the platform carry their plan's). */
  defaultStorageGiB?: number;
  /** How long a rollout may take before serve fails (the Deployment's own deadline fails it earlier). */
  rolloutTimeoutMs?: number;
}

export interface KubernetesRuntime extends Runtime {
  /** Deletes the tenant's namespace and waits until the API server no longer has it. Idempotent. */
  remove(tenantId: string, options?: { timeoutMs?: number }): Promise<void>;
  /** The namespace of a tenant this runtime has served (or found at start). */
  namespaceOf(tenantId: string): string | undefined;
}

interface Served {
  spec: TenantServeSpec;
  namespace: string;
}

const WEB = 'odoo-web';
const CRON = 'odoo-cron';

export function createKubernetesRuntime(options: KubernetesRuntimeOptions): KubernetesRuntime {
  const { client, settings } = options;
  const served = new Map<string, Served>();
  const namespaces = new Map<string, string>();
  const upstream: Upstream = { host: settings.ingressUpstream.host, port: settings.ingressUpstream.port };
  const rolloutTimeoutMs = options.rolloutTimeoutMs ?? settings.progressDeadlineSeconds * 1000 + 30_000;

  function planOf(spec: TenantServeSpec): PlanShape {
    return {
      code: spec.planCode ?? 'tenant',
      limits: {
        cpu: spec.limits.cpu,
        memoryMiB: spec.limits.memoryMiB,
        storageGiB: spec.limits.storageGiB ?? options.defaultStorageGiB ?? 10,
      },
      // The tenant's database is where the platform put it (its serve spec's credentials): a shared server here.
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: spec.replicas },
    };
  }

  function manifestsOf(spec: TenantServeSpec): KubeObject[] {
    const plan = planOf(spec);
    const odooConf = tenantOdooConf({
      databaseName: spec.databaseName,
      credentials: spec.tenantRole,
      dedicatedDatabase: false,
      adminPassword: createHmac('sha256', options.secretKey).update(`admin_passwd:${spec.tenantId}`).digest('base64url'),
      sizing: planSizing(plan),
      settings,
    });
    return tenantManifests({
      tenant: { tenantId: spec.tenantId, tenantName: spec.tenantName, hostName: spec.hostName, customDomains: [] },
      plan,
      settings,
      odooConf,
    });
  }

  async function applyAll(objects: KubeObject[]): Promise<void> {
    // In order: the namespace and its quota and defaults exist before what they admit.
    for (const object of objects) {
      await client.apply(object.kind === 'PersistentVolumeClaim' ? await asMadeClaim(object) : object);
    }
  }

  /**
   * A claim's size and access are fixed once made: the API server refuses a changed request on a
   * claim not yet bound and changed access modes on any, growing a bound one needs a storage class
   * that expands volumes, and shrinking is never allowed. So a re-apply (plan change, restart)
   * sends an existing claim's own spec back with the new labels; the quota still follows the plan.
   */
  async function asMadeClaim(claim: KubeObject): Promise<KubeObject> {
    const { apiVersion, kind, metadata } = claim;
    const existing = await client.get<{ spec: { accessModes?: string[]; resources?: { requests?: object }; storageClassName?: string } }>(
      resourcePath(apiVersion, kind, metadata.namespace, metadata.name),
    );
    if (!existing) return claim;
    const { accessModes, resources, storageClassName } = existing.spec;
    return {
      ...claim,
      spec: { accessModes, resources: { requests: resources?.requests }, ...(storageClassName ? { storageClassName } : {}) },
    };
  }

  async function findNamespace(tenantId: string): Promise<string | undefined> {
    const known = namespaces.get(tenantId);
    if (known) return known;
    const selector = encodeURIComponent(`${LABELS.tenantId}=${tenantId}`);
    const list = await client.get<{ items: Array<{ metadata: { name: string } }> }>(`/api/v1/namespaces?labelSelector=${selector}`);
    const name = list?.items[0]?.metadata.name;
    if (name) namespaces.set(tenantId, name);
    return name;
  }

  async function scale(namespace: string, name: string, replicas: number): Promise<void> {
    await client.call(
      'PATCH',
      `${resourcePath('apps/v1', 'Deployment', namespace, name)}/scale`,
      { spec: { replicas } },
      'application/merge-patch+json',
    );
  }

  return {
    kind: 'kubernetes',

    async start() {
      const selector = encodeURIComponent(LABELS.tenantId);
      const list = await client.get<{ items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> }>(
        `/api/v1/namespaces?labelSelector=${selector}`,
      );
      const restored: Array<{ tenantId: string; upstream: Upstream }> = [];
      for (const item of list?.items ?? []) {
        const tenantId = item.metadata.labels?.[LABELS.tenantId];
        if (!tenantId) continue;
        namespaces.set(tenantId, item.metadata.name);
        const web = await client.get<{ spec?: { replicas?: number } }>(resourcePath('apps/v1', 'Deployment', item.metadata.name, WEB));
        if ((web?.spec?.replicas ?? 0) > 0) restored.push({ tenantId, upstream });
      }
      return restored;
    },

    async serve(spec) {
      if (spec.processStrategy !== 'dedicated') {
        throw new Error('The Kubernetes runtime serves dedicated tenants only so far: place pool plans on the process runtime');
      }
      const namespace = tenantNamespace(spec.tenantName, settings);
      await applyAll(manifestsOf(spec));
      namespaces.set(spec.tenantId, namespace);
      served.set(spec.tenantId, { spec, namespace });
      await waitForRollout(client, namespace, WEB, { timeoutMs: rolloutTimeoutMs });
      await waitForRollout(client, namespace, CRON, { timeoutMs: rolloutTimeoutMs });
      return upstream;
    },

    async unserve(tenantId) {
      const namespace = await findNamespace(tenantId);
      served.delete(tenantId);
      if (!namespace) return;
      for (const name of [WEB, CRON]) {
        try {
          await scale(namespace, name, 0);
        } catch (error) {
          // Already gone (a deleted tenant): nothing runs.
          if (!(error instanceof KubeApiError && error.status === 404)) throw error;
        }
      }
    },

    upstream(tenantId) {
      return served.has(tenantId) ? upstream : undefined;
    },

    async status(tenantId): Promise<WorkloadStatus | undefined> {
      const namespace = await findNamespace(tenantId);
      if (!namespace) return undefined;
      const web = await client.get<{
        spec?: { replicas?: number };
        status?: { availableReplicas?: number; conditions?: Array<{ type: string; reason?: string }> };
      }>(resourcePath('apps/v1', 'Deployment', namespace, WEB));
      if (!web) return undefined;
      const wanted = web.spec?.replicas ?? 0;
      const available = web.status?.availableReplicas ?? 0;
      const failed = web.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
      const state = wanted === 0 ? 'stopped' : failed ? 'failed' : available >= wanted ? 'running' : 'starting';
      return { state, workload: `namespace:${namespace}`, restarts: 0 };
    },

    async logs(tenantId, logOptions = {}) {
      const namespace = await findNamespace(tenantId);
      if (!namespace) return [];
      const pods = await client.get<{ items: Array<{ metadata: { name: string } }> }>(
        `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`${LABELS.component}=web`)}`,
      );
      const pod = pods?.items[0]?.metadata.name;
      if (!pod) return [];
      const lines = logOptions.lines ?? 100;
      const text = await client
        .call<unknown>('GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log?tailLines=${lines}`)
        .then((body) => (typeof body === 'string' ? body : ''))
        .catch(() => '');
      return text.split('\n').filter(Boolean);
    },

    async stop() {
      // The tenants' pods belong to the cluster, not to this process: a platform shutdown leaves them serving.
      served.clear();
    },

    async updateLimits(tenantId, limits, planCode) {
      const current = served.get(tenantId);
      if (!current) throw new Error(`tenant ${tenantId} is not served by this Kubernetes runtime: serve it before changing its limits`);
      const spec = { ...current.spec, limits, planCode: planCode ?? current.spec.planCode };
      // Re-applying the whole set updates the quota, the LimitRange and the pods' resources in place.
      await applyAll(manifestsOf(spec));
      served.set(tenantId, { ...current, spec });
      await waitForRollout(client, current.namespace, WEB, { timeoutMs: rolloutTimeoutMs });
    },

    async remove(tenantId, removeOptions = {}) {
      const namespace = await findNamespace(tenantId);
      served.delete(tenantId);
      if (!namespace) return;
      const path = resourcePath('v1', 'Namespace', undefined, namespace);
      await client.remove(path, { propagationPolicy: 'Foreground' });
      const deadline = Date.now() + (removeOptions.timeoutMs ?? 300_000);
      // A namespace is gone only when its finalizer has deleted everything in it.
      while (await client.get(path)) {
        if (Date.now() > deadline)
          throw new Error(`namespace ${namespace} is still terminating after ${(removeOptions.timeoutMs ?? 300_000) / 1000} s`);
        await new Promise((r) => setTimeout(r, 250));
      }
      namespaces.delete(tenantId);
    },

    namespaceOf(tenantId) {
      return namespaces.get(tenantId);
    },
  };
}
