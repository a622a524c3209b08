import { describe, expect, it } from 'vitest';
import { defaultCatalog } from '../../src/plans/index.js';
import {
  CONFIG_HASH_ANNOTATION,
  DEFAULT_KUBERNETES_SETTINGS,
  type KubeObject,
  type KubernetesSettings,
  planSizing,
  poolManifests,
  poolOdooConf,
  tenantManifests,
  tenantOdooConf,
  validateKubeObject,
} from '../../src/runtimes/kubernetes/index.js';

const settings: KubernetesSettings = {
  ...DEFAULT_KUBERNETES_SETTINGS,
  wildcardTlsSecretName: 'wildcard-tls',
  clusterIssuer: 'letsencrypt',
  rwxStorageClassName: 'nfs',
};

/** Every plan of the catalog, as the Kubernetes runtime builds it (fixed secrets: the golden files are stable). */
function manifestsOf(code: string, overrides: Partial<KubernetesSettings> = {}): KubeObject[] {
  const plan = defaultCatalog.find((p) => p.code === code);
  if (!plan) throw new Error(`no plan ${code}`);
  const effective = { ...settings, ...overrides };
  const sizing = planSizing(plan);
  const dedicated = plan.placement.databaseStrategy === 'dedicated';
  const odooConf =
    plan.placement.processStrategy === 'pool'
      ? poolOdooConf({
          credentials: { host: '10.1.2.3', port: 5432, user: 'pool_p1', password: 'pool-password' },
          dbfilter: '^%d$',
          adminPassword: 'admin-password',
          sizing,
          settings: effective,
        })
      : tenantOdooConf({
          databaseName: 't_acme',
          credentials: { host: '10.1.2.3', port: 5432, user: 't_acme', password: 'database-password' },
          dedicatedDatabase: dedicated,
          adminPassword: 'admin-password',
          sizing,
          settings: effective,
        });
  if (plan.placement.processStrategy === 'pool') {
    return poolManifests({ pool: { name: 'p1' }, plan, settings: effective, odooConf, hosts: ['acme.example.com', 'beta.example.com'] });
  }
  return tenantManifests({
    tenant: {
      tenantId: '00000000-0000-4000-8000-000000000001',
      tenantName: 'acme',
      hostName: 'acme.example.com',
      customDomains: ['erp.acme.test'],
    },
    plan,
    settings: effective,
    odooConf,
    dedicatedDatabase: dedicated ? { name: 't_acme', owner: 't_acme', password: 'database-password' } : undefined,
  });
}

const find = (objects: KubeObject[], kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
const spec = (o: KubeObject | undefined): any => (o as { spec?: unknown } | undefined)?.spec;

describe('Kubernetes manifests of every catalog plan', () => {
  for (const plan of defaultCatalog) {
    it(`${plan.code}: matches its golden file and every object validates against the Kubernetes schemas`, async () => {
      const objects = manifestsOf(plan.code);
      for (const object of objects) expect(() => validateKubeObject(object), `${object.kind}/${object.metadata.name}`).not.toThrow();
      await expect(`${JSON.stringify(objects, null, 2)}\n`).toMatchFileSnapshot(`../fixtures/kubernetes-golden/${plan.code}.json`);
    });
  }

  it('the validator refuses an object the API would refuse (so the check above can fail)', () => {
    const [namespace] = manifestsOf('standard');
    expect(() => validateKubeObject({ ...(namespace as KubeObject), metadata: { name: 42 as unknown as string } })).toThrow();
    const bad = find(manifestsOf('standard'), 'Deployment')[0] as KubeObject;
    expect(() => validateKubeObject({ ...bad, spec: { ...spec(bad), replicas: 'two' } })).toThrow();
  });

  it('the namespace enforces Pod Security restricted and carries the tenant and plan', () => {
    const [namespace] = find(manifestsOf('standard'), 'Namespace');
    expect(namespace?.metadata.name).toBe('t-acme');
    expect(namespace?.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'saas.odoo/tenant': 'acme',
      'saas.odoo/plan': 'standard',
    });
  });

  it('secrets live in a Secret, never a ConfigMap, and the config hash rolls the pods', () => {
    const objects = manifestsOf('premium');
    expect(find(objects, 'ConfigMap')).toHaveLength(0);
    const secret = find(objects, 'Secret', 'odoo-config')[0] as KubeObject & { stringData: Record<string, string> };
    expect(secret.stringData['odoo.conf']).toContain('admin_passwd = admin-password');
    expect(secret.stringData['odoo.conf']).toContain('db_host = postgres-rw');
    const hashes = find(objects, 'Deployment').map((d) => spec(d).template.metadata.annotations[CONFIG_HASH_ANNOTATION]);
    expect(new Set(hashes).size).toBe(1);
    // Another odoo.conf (here: another password) is another hash.
    const other = tenantManifests({
      tenant: { tenantId: 'x', tenantName: 'acme', hostName: 'acme.example.com', customDomains: [] },
      plan: defaultCatalog.find((p) => p.code === 'standard') as (typeof defaultCatalog)[number],
      settings,
      odooConf: 'db_password = other\n',
    });
    expect(spec(find(other, 'Deployment')[0]).template.metadata.annotations[CONFIG_HASH_ANNOTATION]).not.toBe(hashes[0]);
  });

  it('web pods run without cron threads, the cron pod without HTTP, both hardened for restricted', () => {
    const objects = manifestsOf('standard');
    const web = spec(find(objects, 'Deployment', 'odoo-web')[0]);
    const cron = spec(find(objects, 'Deployment', 'odoo-cron')[0]);
    expect(web.template.spec.containers[0].args).toContain('--max-cron-threads=0');
    expect(cron.template.spec.containers[0].args).toContain('--no-http');
    expect(cron.replicas).toBe(1);
    for (const pod of [web.template.spec, cron.template.spec]) {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 101,
        fsGroup: 101,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers[0].securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
      });
    }
    expect(web.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/web/health');
  });

  it('/websocket goes to 8072 only when Odoo runs workers', () => {
    const threaded = manifestsOf('standard');
    const paths = (objects: KubeObject[]) => spec(find(objects, 'Ingress')[0]).rules[0].http.paths.map((p: { path: string }) => p.path);
    expect(paths(threaded)).toEqual(['/']);
    expect(spec(find(threaded, 'Service')[0]).ports.map((p: { port: number }) => p.port)).toEqual([8069]);
    const workers = manifestsOf('standard', { odooWorkers: 2 });
    expect(paths(workers)).toEqual(['/websocket', '/']);
    expect(spec(find(workers, 'Service')[0]).ports.map((p: { port: number }) => p.port)).toEqual([8069, 8072]);
    const secret = find(workers, 'Secret', 'odoo-config')[0] as KubeObject & { stringData: Record<string, string> };
    expect(secret.stringData['odoo.conf']).toContain('gevent_port = 8072');
  });

  it('only the plan that scales gets an autoscaler and a ReadWriteMany filestore; only dedicated-database plans a CloudNativePG cluster', () => {
    for (const plan of defaultCatalog) {
      const objects = manifestsOf(plan.code);
      const scales = plan.placement.replicas > 1;
      expect(find(objects, 'HorizontalPodAutoscaler'), plan.code).toHaveLength(scales ? 1 : 0);
      expect(spec(find(objects, 'PersistentVolumeClaim')[0]).accessModes, plan.code).toEqual([scales ? 'ReadWriteMany' : 'ReadWriteOnce']);
      expect(find(objects, 'Cluster'), plan.code).toHaveLength(plan.placement.databaseStrategy === 'dedicated' ? 1 : 0);
    }
  });

  it('the quota covers every pod the plan runs plus one surge pod, and the pods fit the LimitRange', () => {
    for (const plan of defaultCatalog.filter((p) => p.placement.processStrategy === 'dedicated')) {
      const sizing = planSizing(plan);
      const webMax = sizing.autoscale?.maxReplicas ?? sizing.webReplicas;
      const pods = webMax + 1 + (plan.placement.databaseStrategy === 'dedicated' ? 1 : 0);
      expect(sizing.quota.pods, plan.code).toBe(pods + 1);
      expect(sizing.pod.cpuMilli * pods, plan.code).toBeLessThanOrEqual(plan.limits.cpu * 1000);
      expect(sizing.pod.memoryMiB * pods, plan.code).toBeLessThanOrEqual(plan.limits.memoryMiB);
      const quota = spec(find(manifestsOf(plan.code), 'ResourceQuota')[0]).hard;
      expect(quota['services.loadbalancers']).toBe('0');
      expect(quota['services.nodeports']).toBe('0');
    }
  });

  it('network policies deny by default and open only the ingress controller, DNS and the database', () => {
    const objects = manifestsOf('standard');
    const names = find(objects, 'NetworkPolicy').map((p) => p.metadata.name);
    expect(names).toEqual(['default-deny', 'from-ingress-controller', 'to-dns-and-database']);
    const egress = spec(find(objects, 'NetworkPolicy', 'to-dns-and-database')[0]).egress;
    expect(egress[1]).toEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 5432 }] });
    const dedicated = spec(find(manifestsOf('premium'), 'NetworkPolicy', 'to-dns-and-database')[0]).egress;
    expect(dedicated[1].to).toEqual([{ podSelector: { matchLabels: { 'cnpg.io/cluster': 'postgres' } } }]);
  });

  it('custom domains get a cert-manager certificate, platform hosts the wildcard secret', () => {
    const ingress = find(manifestsOf('standard'), 'Ingress')[0] as KubeObject;
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(spec(ingress).tls).toEqual([
      { hosts: ['acme.example.com'], secretName: 'wildcard-tls' },
      { hosts: ['erp.acme.test'], secretName: 'odoo-custom-domains-tls' },
    ]);
  });

  it('a pool runs in the shared pool namespace with one Ingress rule per tenant host', () => {
    const objects = manifestsOf('basic');
    expect(new Set(objects.map((o) => o.metadata.namespace ?? o.metadata.name))).toEqual(new Set(['odoo-pools']));
    expect(spec(find(objects, 'Ingress')[0]).rules.map((r: { host: string }) => r.host)).toEqual(['acme.example.com', 'beta.example.com']);
  });
});
