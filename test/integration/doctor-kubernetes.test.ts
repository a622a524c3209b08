import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorCheck } from '../../src/cli/doctor.js';
import { kubernetesChecks } from '../../src/cli/doctor-kubernetes.js';
import { createKubeClient, type KubeClient, kubeConfigFrom } from '../../src/runtimes/kubernetes/index.js';
import { serviceAccountKubeconfig } from '../helpers/kube-accounts.js';
import { type KubeControlPlane, kubeBinaries, startKubeControlPlane } from '../helpers/kube-control-plane.js';
import { freeTestPort } from '../helpers/ports.js';

/**
 * `saasctl doctor`'s Kubernetes checks against the suite's real API server: reachability, the
 * runtime's permissions by SelfSubjectAccessReview, and the optional pieces (none installed at
 * first, then a CRD and an IngressClass installed by the test and reported present).
 */
const binaries = kubeBinaries();
if ('missing' in binaries) console.log(`doctor's Kubernetes checks on an API server skipped: ${binaries.missing}`);

function byName(checks: DoctorCheck[]): Map<string, DoctorCheck> {
  return new Map(checks.map((c) => [c.name, c]));
}

describe.skipIf('missing' in binaries)("saasctl doctor's Kubernetes checks", () => {
  let plane: KubeControlPlane;
  let admin: KubeClient;

  beforeAll(async () => {
    plane = await startKubeControlPlane({ zones: ['zone-a'], volumes: 0 });
    admin = createKubeClient(kubeConfigFrom({ kubeconfig: plane.kubeconfig }));
  }, 180_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it('an empty cluster: reachable, every runtime verb allowed to the admin, each missing piece reported with what it disables', async () => {
    const checks = byName(await kubernetesChecks({ KUBERNETES_KUBECONFIG: plane.kubeconfigPath }));
    expect(checks.get('Kubernetes cluster')).toMatchObject({ status: 'ok' });
    // (A control plane built without release stamping reports v0.0.0-master: the version is whatever /version says.)
    expect(checks.get('Kubernetes cluster')?.found).toMatch(/^Kubernetes v\S+ at https:\/\/127\.0\.0\.1:\d+ \(KUBERNETES_KUBECONFIG=/);
    expect(checks.get('Kubernetes permissions')).toMatchObject({ status: 'ok', found: 'every verb the runtime uses is allowed' });
    // Without an ingress controller no Kubernetes tenant is reachable: missing, not a warning.
    expect(checks.get('Ingress controller (class traefik)')).toMatchObject({ status: 'missing' });
    expect(checks.get('Ingress controller (class traefik)')?.found).toBe(
      'not installed: no Kubernetes tenant can be reached (their Ingresses are served by no controller)',
    );
    expect(checks.get('CloudNativePG')).toMatchObject({ status: 'warning' });
    expect(checks.get('CloudNativePG')?.found).toMatch(/^not installed: tenants of dedicated-database plans cannot be created/);
    expect(checks.get('cert-manager')?.found).toMatch(/^not installed: custom domains of Kubernetes tenants get no certificate/);
    expect(checks.get('metrics-server')?.found).toMatch(/^not installed: tenants of autoscaled plans stay at their minimum/);
    for (const check of checks.values()) if (check.status !== 'ok') expect(check.fix, check.name).toMatch(/docs\//);
  });

  it('reports CloudNativePG and the ingress class present once their CRD and IngressClass are installed', async () => {
    await admin.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'clusters.postgresql.cnpg.io' },
      spec: {
        group: 'postgresql.cnpg.io',
        scope: 'Namespaced',
        names: { kind: 'Cluster', listKind: 'ClusterList', plural: 'clusters', singular: 'cluster' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    await admin.call('POST', '/apis/networking.k8s.io/v1/ingressclasses', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'traefik' },
      spec: { controller: 'traefik.io/ingress-controller' },
    });
    // The API server marks a new CRD Established within moments: asked until it has (bounded).
    const deadline = Date.now() + 30_000;
    let checks = byName(await kubernetesChecks({ KUBERNETES_KUBECONFIG: plane.kubeconfigPath }));
    while (checks.get('CloudNativePG')?.status !== 'ok' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      checks = byName(await kubernetesChecks({ KUBERNETES_KUBECONFIG: plane.kubeconfigPath }));
    }
    expect(checks.get('CloudNativePG')).toMatchObject({ status: 'ok', found: 'installed' });
    expect(checks.get('Ingress controller (class traefik)')).toMatchObject({ status: 'ok', found: 'installed' });
    expect(checks.get('cert-manager')).toMatchObject({ status: 'warning' });
  });

  it('an account without rights: each verb it lacks is named with what the runtime needs it for', async () => {
    const kubeconfig = await serviceAccountKubeconfig(plane, admin, 'default', 'nobody');
    const checks = byName(await kubernetesChecks({ KUBERNETES_KUBECONFIG: kubeconfig }));
    expect(checks.get('Kubernetes cluster')).toMatchObject({ status: 'ok' });
    const permissions = checks.get('Kubernetes permissions');
    expect(permissions?.status).toBe('missing');
    expect(permissions?.found).toContain('create namespaces (a namespace per tenant');
    expect(permissions?.found).toContain('patch deployments/scale.apps (stop (scale to 0) and start)');
    expect(permissions?.fix).toContain('deploy/helm/odoo-saas/templates/rbac.yaml');
    // It may not even read the CRDs: said, not thrown.
    expect(checks.get('CloudNativePG')?.found).toMatch(/^cannot tell: GET .* failed \(403 Forbidden\)/);
  });

  it('a cluster that does not answer is one line naming the kubeconfig and the fix', async () => {
    const port = await freeTestPort();
    const path = join(mkdtempSync(join(tmpdir(), 'saas-kube-down-')), 'kubeconfig');
    writeFileSync(path, plane.kubeconfig.replace(plane.server, `https://127.0.0.1:${port}`));
    const checks = await kubernetesChecks({ KUBERNETES_KUBECONFIG: path });
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'Kubernetes cluster', status: 'missing' });
    expect(checks[0]?.found).toContain(
      `KUBERNETES_KUBECONFIG=${path}: cannot reach the Kubernetes API server at https://127.0.0.1:${port}`,
    );
    expect(checks[0]?.fix).toContain('kubectl --kubeconfig');
  });
});
