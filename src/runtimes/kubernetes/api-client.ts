/**
 * The few Kubernetes API calls the runtime makes, over HTTPS with the kubeconfig's credentials.
 *
 * Server-side apply is sent as its documented wire form (PATCH, `application/apply-patch+yaml`,
 * `fieldManager`, `force`) with the object as plain JSON, rather than through
 * `KubernetesObjectApi.patch`: that helper re-serialises known kinds through its own models,
 * which drop fields they spell differently (a LimitRange's `default` is `_default` there), so
 * what reached the server was not what the builders made. The kubeconfig, its TLS and its
 * token still come from `@kubernetes/client-node`'s KubeConfig.
 */
import { request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { FIELD_MANAGER, type KubeObject } from './manifests.js';

/** An error answer of the API server (a `Status` object), with its reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Where each kind this runtime writes lives in the API: group/version path and plural. */
const RESOURCES: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  ResourceQuota: { plural: 'resourcequotas', namespaced: true },
  LimitRange: { plural: 'limitranges', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  PersistentVolumeClaim: { plural: 'persistentvolumeclaims', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Pod: { plural: 'pods', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  NetworkPolicy: { plural: 'networkpolicies', namespaced: true },
  Ingress: { plural: 'ingresses', namespaced: true },
  HorizontalPodAutoscaler: { plural: 'horizontalpodautoscalers', namespaced: true },
  Cluster: { plural: 'clusters', namespaced: true },
};

/** The API path of an object (or of its collection without a name). */
export function resourcePath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const resource = RESOURCES[kind];
  if (!resource) throw new Error(`the Kubernetes runtime does not write ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const scope = resource.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? '')}` : '';
  return `${base}${scope}/${resource.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

export interface KubeClient {
  /** The API server's URL (for messages). */
  readonly server: string;
  /** Server-side apply as this platform's field manager; `dryRun` asks the server to admit without storing. */
  apply(object: KubeObject, options?: { force?: boolean; dryRun?: boolean }): Promise<KubeObject>;
  get<T = KubeObject>(path: string): Promise<T | undefined>;
  /** DELETE; a 404 is success (already gone). */
  remove(path: string, options?: { propagationPolicy?: 'Foreground' | 'Background' }): Promise<void>;
  /** Any other call (POST, PATCH with another content type), answering the parsed body. */
  call<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
}

export function kubeConfigFrom(source: { kubeconfigPath?: string; kubeconfig?: string }): KubeConfig {
  const config = new KubeConfig();
  if (source.kubeconfig !== undefined) config.loadFromString(source.kubeconfig);
  else if (source.kubeconfigPath !== undefined) config.loadFromFile(source.kubeconfigPath);
  else config.loadFromDefault();
  return config;
}

export function createKubeClient(config: KubeConfig, fieldManager = FIELD_MANAGER): KubeClient {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster: set current-context');
  const server = cluster.server.replace(/\/$/, '');

  async function send(method: string, path: string, body: unknown, contentType: string): Promise<{ status: number; body: string }> {
    const options: Parameters<typeof request>[1] = { method, headers: {} };
    await config.applyToHTTPSOptions(options);
    options.headers = { ...options.headers, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }) };
    return new Promise((done, fail) => {
      const req = request(`${server}${path}`, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', fail);
      });
      req.on('error', (error) =>
        fail(
          new Error(
            `cannot reach the Kubernetes API server at ${server}: ${error.message} (check the kubeconfig and that the cluster is up)`,
          ),
        ),
      );
      if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
      req.end();
    });
  }

  function failure(method: string, path: string, answer: { status: number; body: string }): KubeApiError {
    let reason = 'Unknown';
    let message = answer.body.slice(0, 500);
    try {
      const status = JSON.parse(answer.body) as { reason?: string; message?: string };
      reason = status.reason ?? reason;
      message = status.message ?? message;
    } catch {
      // Not a Status object (a proxy's page): keep the raw text.
    }
    return new KubeApiError(answer.status, reason, `${method} ${path} failed (${answer.status} ${reason}): ${message}`);
  }

  async function call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const answer = await send(method, path, body, contentType);
    if (answer.status < 200 || answer.status >= 300) throw failure(method, path, answer);
    return (answer.body ? JSON.parse(answer.body) : undefined) as T;
  }

  return {
    server,
    async apply(object, options = {}) {
      const query = new URLSearchParams({ fieldManager, force: String(options.force ?? true) });
      if (options.dryRun) query.set('dryRun', 'All');
      const path = `${resourcePath(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name)}?${query}`;
      // JSON is YAML: the apply content type takes either.
      return call<KubeObject>('PATCH', path, object, 'application/apply-patch+yaml');
    },
    async get<T>(path: string) {
      const answer = await send('GET', path, undefined, 'application/json');
      if (answer.status === 404) return undefined;
      if (answer.status < 200 || answer.status >= 300) throw failure('GET', path, answer);
      return JSON.parse(answer.body) as T;
    },
    async remove(path, options = {}) {
      const body = options.propagationPolicy
        ? { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy }
        : undefined;
      const answer = await send('DELETE', path, body, 'application/json');
      if (answer.status === 404) return;
      if (answer.status < 200 || answer.status >= 300) throw failure('DELETE', path, answer);
    },
    call,
  };
}
