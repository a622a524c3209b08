import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '../../src/runtimes/kubernetes/index.js';
import type { KubeControlPlane } from './kube-control-plane.js';

/** The CA certificate (PEM) the control plane's kubeconfig trusts. */
export function controlPlaneCa(plane: KubeControlPlane): Buffer {
  const ca = /certificate-authority-data: (\S+)/.exec(plane.kubeconfig)?.[1];
  if (!ca) throw new Error('the control plane kubeconfig has no certificate-authority-data');
  return Buffer.from(ca, 'base64');
}

/** A token of the service account (made when absent) from the TokenRequest API, as the kubelet projects into a pod. */
export async function serviceAccountToken(admin: KubeClient, namespace: string, name: string): Promise<string> {
  const accounts = `/api/v1/namespaces/${namespace}/serviceaccounts`;
  if (!(await admin.get(`${accounts}/${name}`))) {
    await admin.call('POST', accounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
  }
  const answer = await admin.call<{ status: { token: string } }>('POST', `${accounts}/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  return answer.status.token;
}

/**
 * A kubeconfig for a service account of the test control plane (its token, the admin
 * kubeconfig's server and CA): lets a test act with exactly the rights RBAC gives that account.
 */
export async function serviceAccountKubeconfig(
  plane: KubeControlPlane,
  admin: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  const token = await serviceAccountToken(admin, namespace, name);
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: test, cluster: {server: "${plane.server}", certificate-authority-data: ${controlPlaneCa(plane).toString('base64')}}}]`,
    `users: [{name: ${name}, user: {token: "${token}"}}]`,
    `contexts: [{name: test, context: {cluster: test, user: ${name}}}]`,
    'current-context: test',
    '',
  ].join('\n');
  const path = join(mkdtempSync(join(tmpdir(), 'saas-kube-sa-')), 'kubeconfig');
  writeFileSync(path, kubeconfig, { mode: 0o600 });
  return path;
}
