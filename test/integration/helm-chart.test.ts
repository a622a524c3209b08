import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubernetesChecks } from '../../src/cli/doctor-kubernetes.js';
import { defaultCatalog } from '../../src/plans/index.js';
import {
  accessResourceName,
  createKubeClient,
  DEFAULT_KUBERNETES_SETTINGS,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  kubeConfigFrom,
  planSizing,
  RUNTIME_ACCESS,
  tenantManifests,
  tenantOdooConf,
} from '../../src/runtimes/kubernetes/index.js';
import { controlPlaneCa, serviceAccountToken } from '../helpers/kube-accounts.js';
import { type KubeControlPlane, kubeBinaries, startKubeControlPlane } from '../helpers/kube-control-plane.js';

/**
 * The platform's own Helm chart (deploy/helm/odoo-saas): `helm lint` and `helm template` with its
 * values schema, every rendered object validated by kubernetes-models (CloudNativePG's Cluster by
 * its own package), then applied to the suite's real API server, and its RBAC shown to be exactly
 * enough: the chart's service account passes doctor's access review and applies a tenant, and the
 * admission policy refuses its writes outside the platform's namespaces.
 */
const execFileAsync = promisify(execFile);
const CHART = resolve('deploy/helm/odoo-saas');
const helm = process.env.HELM_BIN ?? resolve('.tools/helm/v4.3.2/bin/helm');
const helmMissing = existsSync(helm) ? undefined : `${helm} is missing: run \`npm test\` (scripts/lib.sh ensure_helm builds it)`;
if (helmMissing) console.log(`Helm chart tests skipped: ${helmMissing}`);
const binaries = kubeBinaries();
if ('missing' in binaries) console.log(`Helm chart tests on the API server skipped: ${binaries.missing}`);

const RELEASE = 'odoo-saas';
const NAMESPACE = 'saas-platform';
const VALUES = [
  'image.repository=registry.example.test/odoo-saas',
  'image.tag=1.2.3',
  'baseDomain=saas.example.test',
  'secretKey.existingSecret=odoo-saas-secret',
  'tenantDatabase.existingSecret=odoo-saas-tenant-db',
  'ingress.tlsSecretName=wildcard-tls',
];

async function helmRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(helm, args, { env: { PATH: process.env.PATH ?? '', HOME: '/tmp' }, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

async function render(values: string[] = VALUES): Promise<KubeObject[]> {
  const result = await helmRun(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...values.flatMap((v) => ['--set', v])]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
  'postgresql.cnpg.io/v1/Cluster': Cluster,
};

/** Where each rendered kind lives in the API (the runtime's client knows only the tenants' kinds). */
const PLURALS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  Service: 'services',
  Deployment: 'deployments',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Ingress: 'ingresses',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
  Cluster: 'clusters',
};
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function pathOf(object: KubeObject): string {
  const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const scope = CLUSTER_SCOPED.has(object.kind) ? '' : `/namespaces/${NAMESPACE}`;
  return `${base}${scope}/${PLURALS[object.kind]}/${object.metadata.name}`;
}

function apply(client: KubeClient, object: KubeObject, dryRun: boolean): Promise<unknown> {
  const query = `fieldManager=helm-chart-test&force=true${dryRun ? '&dryRun=All' : ''}`;
  return client.call(
    'PATCH',
    `${pathOf(object)}?${query}`,
    { ...object, metadata: { ...object.metadata, namespace: CLUSTER_SCOPED.has(object.kind) ? undefined : NAMESPACE } },
    'application/apply-patch+yaml',
  );
}

describe.skipIf(helmMissing !== undefined)('Helm chart deploy/helm/odoo-saas', () => {
  it('passes helm lint with the example values', async () => {
    const result = await helmRun(['lint', CHART, ...VALUES.flatMap((v) => ['--set', v])]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('renders API and worker Deployments, their PodDisruptionBudgets, Service, Ingress, RBAC and a CloudNativePG cluster, each valid for its schema', async () => {
    const objects = await render();
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
      if (Model) new Model(object).validate();
    }
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/odoo-saas-tenant-runtime',
        'ClusterRoleBinding/odoo-saas-tenant-runtime',
        'ConfigMap/odoo-saas-kubeconfig',
        'Cluster/odoo-saas-db',
        'Deployment/odoo-saas-api',
        'Deployment/odoo-saas-worker',
        'Ingress/odoo-saas',
        'PodDisruptionBudget/odoo-saas-api',
        'PodDisruptionBudget/odoo-saas-worker',
        'Service/odoo-saas',
        'ServiceAccount/odoo-saas',
        'ValidatingAdmissionPolicy/odoo-saas-tenant-namespaces-only',
        'ValidatingAdmissionPolicyBinding/odoo-saas-tenant-namespaces-only',
      ].sort(),
    );
    const env = (name: string) => {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as unknown as {
        spec: {
          replicas: number;
          template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: unknown }> }> } };
        };
      };
      return { replicas: deployment.spec.replicas, env: new Map(deployment.spec.template.spec.containers[0]?.env.map((e) => [e.name, e])) };
    };
    const api = env('odoo-saas-api');
    const worker = env('odoo-saas-worker');
    // The roles differ by RUN_WORKERS only; secrets come from Secrets, never as values.
    expect(api.env.get('RUN_WORKERS')?.value).toBe('false');
    expect(worker.env.get('RUN_WORKERS')?.value).toBe('true');
    expect(api.env.get('SECRET_KEY')?.valueFrom).toEqual({ secretKeyRef: { name: 'odoo-saas-secret', key: 'secret-key' } });
    expect(api.env.get('DATABASE_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'odoo-saas-db-app', key: 'uri' } });
    expect(api.env.get('KUBERNETES_KUBECONFIG')?.value).toBe('/etc/odoo-saas/kubeconfig');
    expect([api.replicas, worker.replicas]).toEqual([2, 2]);
    const service = objects.find((o) => o.kind === 'Service') as unknown as { spec: { selector: Record<string, string> } };
    expect(service.spec.selector['app.kubernetes.io/component']).toBe('api');
  });

  it("the chart's ClusterRole grants every verb the runtime uses (src/runtimes/kubernetes/access.ts), and no read of secrets", async () => {
    const role = (await render()).find((o) => o.kind === 'ClusterRole') as unknown as {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    const granted = (group: string, resource: string, verb: string) =>
      role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const access of RUNTIME_ACCESS) {
      for (const verb of access.verbs)
        expect(granted(access.group, accessResourceName(access), verb), `${verb} ${accessResourceName(access)}`).toBe(true);
    }
    for (const verb of ['get', 'list', 'watch']) expect(granted('', 'secrets', verb)).toBe(false);
    expect(role.rules.some((r) => r.resources.includes('*') || r.verbs.includes('*'))).toBe(false);
  });

  it('refuses bad values with the field named (values.schema.json), and an external database without its Secret', async () => {
    const noImage = await helmRun([
      'template',
      RELEASE,
      CHART,
      ...VALUES.filter((v) => !v.startsWith('image.repository')).flatMap((v) => ['--set', v]),
    ]);
    expect(noImage.code).not.toBe(0);
    expect(noImage.stderr).toMatch(/image[./]repository/);
    const badDomain = await helmRun(['template', RELEASE, CHART, ...[...VALUES, 'baseDomain=Not A Domain'].flatMap((v) => ['--set', v])]);
    expect(badDomain.code).not.toBe(0);
    expect(badDomain.stderr).toContain('baseDomain');
    const noReplicas = await helmRun(['template', RELEASE, CHART, ...[...VALUES, 'api.replicas=0'].flatMap((v) => ['--set', v])]);
    expect(noReplicas.code).not.toBe(0);
    expect(noReplicas.stderr).toMatch(/api[./]replicas/);
    const external = await helmRun([
      'template',
      RELEASE,
      CHART,
      ...[...VALUES, 'database.cnpg.enabled=false'].flatMap((v) => ['--set', v]),
    ]);
    expect(external.code).not.toBe(0);
    expect(external.stderr).toContain('existingSecret');
    const sameClass = await helmRun(['template', RELEASE, CHART, ...[...VALUES, 'ingress.className=traefik'].flatMap((v) => ['--set', v])]);
    expect(sameClass.code).not.toBe(0);
    expect(sameClass.stderr).toContain('must differ from kubernetes.ingressClass');
    const externalOk = await render([...VALUES, 'database.cnpg.enabled=false', 'database.existingSecret=platform-db']);
    expect(externalOk.some((o) => o.kind === 'Cluster')).toBe(false);
  });

  describe.skipIf('missing' in binaries)('on the API server', () => {
    let plane: KubeControlPlane;
    let admin: KubeClient;
    let objects: KubeObject[];

    beforeAll(async () => {
      plane = await startKubeControlPlane({ zones: ['zone-a', 'zone-b'], volumes: 4 });
      admin = createKubeClient(kubeConfigFrom({ kubeconfig: plane.kubeconfig }));
      await admin.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      objects = await render();
    }, 180_000);

    afterAll(async () => {
      await plane?.stop();
    });

    it('admits every object without a CRD in server dry-run and then for real; the CloudNativePG Cluster needs its CRD', async () => {
      for (const object of objects.filter((o) => o.kind !== 'Cluster')) await apply(admin, object, true);
      for (const object of objects.filter((o) => o.kind !== 'Cluster')) await apply(admin, object, false);
      const stored = await admin.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments/odoo-saas-worker`);
      expect(stored?.spec.replicas).toBe(2);
      const cluster = objects.find((o) => o.kind === 'Cluster') as KubeObject;
      const refused = await apply(admin, cluster, true).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).status).toBe(404);
    });

    it("the chart's service account passes doctor's access review, applies and deletes a tenant, and may not write outside the platform's namespaces", async () => {
      // The chart's own kubeconfig (its ConfigMap), with the files a pod would have: the service
      // account's projected token and the cluster CA; only the in-cluster address is the test's.
      const pod = mkdtempSync(join(tmpdir(), 'saas-chart-pod-'));
      writeFileSync(join(pod, 'token'), await serviceAccountToken(admin, NAMESPACE, RELEASE));
      writeFileSync(join(pod, 'ca.crt'), controlPlaneCa(plane));
      const configMap = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: { kubeconfig: string } };
      const kubeconfig = join(pod, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        configMap.data.kubeconfig
          .replace('https://kubernetes.default.svc', plane.server)
          .replaceAll('/var/run/secrets/kubernetes.io/serviceaccount/', `${pod}/`),
      );
      const checks = await kubernetesChecks({ KUBERNETES_KUBECONFIG: kubeconfig, PATH: process.env.PATH });
      expect(checks.find((c) => c.name === 'Kubernetes permissions')).toMatchObject({ status: 'ok' });

      const platform = createKubeClient(kubeConfigFrom({ kubeconfigPath: kubeconfig }));
      const plan = defaultCatalog.find((p) => p.code === 'standard');
      if (!plan) throw new Error('no standard plan');
      const shared = { ...plan, placement: { ...plan.placement, databaseStrategy: 'shared' as const } };
      const settings = DEFAULT_KUBERNETES_SETTINGS;
      const odooConf = tenantOdooConf({
        databaseName: 't_rbac',
        credentials: { host: '10.1.2.3', port: 5432, user: 't_rbac', password: 'p' },
        dedicatedDatabase: false,
        adminPassword: 'a',
        sizing: planSizing(shared),
        settings,
      });
      const tenant = {
        tenantId: '00000000-0000-4000-8000-0000000000aa',
        tenantName: 'rbac',
        hostName: 'rbac.saas.example.test',
        customDomains: [],
      };
      for (const object of tenantManifests({ tenant, plan: shared, settings, odooConf })) await platform.apply(object);
      expect(await admin.get('/apis/apps/v1/namespaces/t-rbac/deployments/odoo-web')).toBeDefined();

      // It writes secrets and never reads one.
      const read = await platform.get('/api/v1/namespaces/t-rbac/secrets/odoo-config').then(
        () => undefined,
        (e: unknown) => e as KubeApiError,
      );
      expect(read?.status).toBe(403);

      // RBAC lets it write in any namespace; the admission policy does not. The policy is
      // enforced once the API server has loaded it: asked until then (bounded).
      const outside: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace: 'default' } };
      const deadline = Date.now() + 30_000;
      let refusal: KubeApiError | undefined;
      while (!refusal) {
        refusal = await platform.apply(outside, { dryRun: true }).then(
          () => undefined,
          (e: unknown) => e as KubeApiError,
        );
        if (!refusal && Date.now() > deadline) throw new Error('the admission policy never refused a write in default');
        if (!refusal) await new Promise((r) => setTimeout(r, 250));
      }
      expect(refusal.status).toBeGreaterThanOrEqual(400);
      expect(refusal.message).toContain('may only write in namespaces labelled app.kubernetes.io/part-of=odoo-saas, not in default');
      await platform.remove('/api/v1/namespaces/t-rbac');
      expect((await admin.get<{ status: { phase: string } }>('/api/v1/namespaces/t-rbac'))?.status.phase ?? 'gone').not.toBe('Active');
    });
  });
});
