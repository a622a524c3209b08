import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../helpers/cli.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Monitoring end to end: three tenants on the fake Odoo behind the real gateway, a label limit of
 * two, and live scrapes of `/metrics` (with the token) and of the internal listener
 * (METRICS_ADDRESS, no token). Every metric the operator guide documents, and every metric the
 * alert rules and the Grafana dashboard in deploy/monitoring/ use, must be in the scrape, with
 * at most two tenant labels plus `other`. The rules are loaded and unit-tested with promtool.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

const METRICS_TOKEN = 'monitoring-metrics-token-0123456789';
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const LABEL_LIMIT = 2;
let test: TestPlatform;
let port: number;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
const tenants: Array<{ id: string; name: string }> = [];

function promtoolMissing(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `promtool cannot be run here (${(error as Error).message.split('\n')[0]}); scripts/lib.sh installs it from Debian's prometheus package`;
  }
}
const noPromtool = promtoolMissing();
if (noPromtool) console.warn(`monitoring test: the promtool checks are skipped: ${noPromtool}`);

/** Metric families (`# TYPE` lines) and samples of a Prometheus text scrape. */
function parseScrape(text: string) {
  const families = new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] ?? ''));
  const samples = [...text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/gm)].map((m) => ({
    name: m[1] ?? '',
    labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[3]),
  }));
  return { families, samples };
}

/** The metric family a name in an expression belongs to (histogram series carry suffixes). */
function familyOf(name: string, families: Set<string>): string {
  if (families.has(name)) return name;
  return name.replace(/_(bucket|count|sum)$/, '');
}

const metricNamesIn = (text: string) => new Set([...text.matchAll(/\bsaas_[a-z0-9_]+/g)].map((m) => m[0]));

async function scrape(): Promise<string> {
  const metricsUrl = test.platform.metricsUrl;
  if (!metricsUrl) throw new Error('METRICS_ADDRESS gave no listener');
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  return response.text();
}

beforeAll(async () => {
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BASE_DOMAIN: 'lvh.me',
    METRICS_TOKEN,
    METRICS_ADDRESS: '127.0.0.1:0',
    METRICS_TENANT_LABEL_LIMIT: String(LABEL_LIMIT),
  });
  port = Number(new URL(test.url).port);
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'monitoring-owner');
  const suffix = Date.now().toString(36);
  const names = ['mona', 'monb', 'monc'].map((label) => `${label}${suffix}`);
  for (const name of names) {
    const created = await test.http.post(
      '/api/v1/tenants',
      {
        name,
        plan: 'basic',
        template: 'blank',
        adminEmail: `admin@${name}.example.com`,
        adminPassword: ADMIN_PASSWORD,
        accountId: customer.accountId,
      },
      { token: operator.accessToken },
    );
    expect(created.status, created.text).toBe(202);
  }
  for (const name of names) {
    tenants.push(
      await waitFor(
        `${name} to run`,
        async () => {
          const view = (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body;
          if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
          return view.state === 'running' ? { id: view.id as string, name } : undefined;
        },
        180_000,
        200,
      ),
    );
  }
}, 240_000);

afterAll(async () => {
  await test?.stop();
});

describe('metrics', () => {
  it('are served with the token on the API port and without one on the internal listener only', async () => {
    const viaToken = await test.http.get('/metrics', { token: METRICS_TOKEN });
    expect(viaToken.status).toBe(200);
    expect((await test.http.get('/metrics')).status).toBe(401);
    const internal = await scrape();
    expect(parseScrape(internal).families).toEqual(parseScrape(viaToken.text).families);
    const other = await fetch(new URL('/api/v1/plans', test.platform.metricsUrl));
    expect(other.status).toBe(404);
  });

  it('has every documented metric, with figures from the live platform and bounded tenant labels', async () => {
    // Two visits per tenant through the gateway, one backup verified and one certificate known.
    for (const tenant of tenants) {
      for (let i = 0; i < 2; i++) expect((await hostRequest(port, `${tenant.name}.lvh.me`, 'GET', '/web/login')).status).toBe(200);
    }
    const [first, second] = tenants;
    if (!first || !second) throw new Error('tenants missing');
    const verifiedAt = new Date(Date.now() - 3600_000);
    await sql`INSERT INTO backups (tenant_id, tenant_name, trigger, state, database_name, storage_kind, storage_key, storage_location, verified_at, finished_at)
              VALUES (${first.id}, ${first.name}, 'on_demand', 'verified', 'db', 'local', 'k', 'l', ${verifiedAt}, ${verifiedAt})`.execute(
      test.platform.database.db,
    );
    const expiresAt = new Date(Date.now() + 20 * 86_400_000);
    await sql`INSERT INTO custom_domains (tenant_id, domain, token, status, certificate_expires_at)
              VALUES (${second.id}, ${`erp.${second.name}.example.com`}, 't', 'verified', ${expiresAt})`.execute(test.platform.database.db);

    const { families, samples } = parseScrape(await scrape());
    const documented = readFileSync('docs/operations/monitoring.md', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `saas_'))
      .flatMap((line) => [...metricNamesIn(line.split('|')[1] ?? '')]);
    expect(documented.length).toBeGreaterThan(30);
    expect(documented.filter((name) => !families.has(name))).toEqual([]);

    // Bounded: at most LABEL_LIMIT tenants by id, the third in `other`.
    const tenantLabels = new Set(samples.flatMap((s) => (s.labels.tenant === undefined ? [] : [s.labels.tenant])));
    expect(tenantLabels.size).toBeLessThanOrEqual(LABEL_LIMIT + 1);
    expect(tenantLabels).toContain('other');
    const sum = (name: string, filter: (labels: Record<string, string>) => boolean = () => true) =>
      samples.filter((s) => s.name === name && filter(s.labels)).reduce((total, s) => total + s.value, 0);
    expect(sum('saas_gateway_requests_total', (l) => l.code === '2xx')).toBe(6);
    expect(sum('saas_gateway_requests_total', (l) => l.tenant === 'other')).toBeGreaterThanOrEqual(2);
    expect(sum('saas_gateway_sent_bytes_total')).toBeGreaterThan(0);
    expect(sum('saas_gateway_request_duration_seconds_count')).toBe(6);
    const info = samples.filter((s) => s.name === 'saas_tenant_info');
    expect(info).toHaveLength(LABEL_LIMIT);
    for (const series of info) expect(tenants.find((t) => t.id === series.labels.tenant)?.name).toBe(series.labels.name);

    // Tenants, provisioning, jobs, backups, certificates, workloads, disk.
    expect(sum('saas_tenants', (l) => l.state === 'running' && l.plan === 'basic')).toBe(3);
    expect(sum('saas_provisioning_duration_seconds_count')).toBe(3);
    expect(sum('saas_job_duration_seconds_count', (l) => l.queue === 'tenant-ops' && l.outcome === 'completed')).toBeGreaterThanOrEqual(3);
    expect(samples.some((s) => s.name === 'saas_job_last_success_timestamp_seconds' && s.labels.queue === 'tenant-ops')).toBe(true);
    expect(samples.some((s) => s.name === 'saas_jobs_queued' && s.labels.queue === 'tenant-ops')).toBe(true);
    const backupAges = samples.filter((s) => s.name === 'saas_tenant_backup_last_verified_timestamp_seconds');
    expect(backupAges.length).toBeLessThanOrEqual(LABEL_LIMIT + 1);
    expect(backupAges.map((s) => s.value)).toContain(Math.floor(verifiedAt.getTime()) / 1000);
    const certificates = samples.filter((s) => s.name === 'saas_tenant_certificate_expiry_timestamp_seconds');
    expect(certificates.map((s) => s.value)).toEqual([expiresAt.getTime() / 1000]);
    const up = samples.filter((s) => s.name === 'saas_workload_up');
    expect(up.length).toBeGreaterThan(0);
    expect(up.every((s) => s.value >= 1)).toBe(true);
    expect(sum('saas_data_disk_size_bytes')).toBeGreaterThan(sum('saas_data_disk_free_bytes'));

    // A running tenant no replica serves is counted (its upstream record gone, as after a worker died).
    expect(sum('saas_tenants_unserved')).toBe(0);
    const third = tenants[2];
    if (!third) throw new Error('tenant missing');
    await sql`DELETE FROM tenant_upstreams WHERE tenant_id = ${third.id}`.execute(test.platform.database.db);
    expect(parseScrape(await scrape()).samples.find((s) => s.name === 'saas_tenants_unserved')?.value).toBe(1);
  });
});

describe('deploy/monitoring', () => {
  const rules = readFileSync('deploy/monitoring/alerts.yml', 'utf8');
  const dashboard = JSON.parse(readFileSync('deploy/monitoring/grafana-dashboard.json', 'utf8'));
  const dashboardExpressions: string[] = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) =>
    panel.targets.map((target) => target.expr),
  );

  it('uses only metrics the platform serves', async () => {
    const { families } = parseScrape(await scrape());
    const used = new Set([...metricNamesIn(rules), ...dashboardExpressions.flatMap((expr) => [...metricNamesIn(expr)])]);
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !families.has(familyOf(name, families)))).toEqual([]);
  });

  it('has a dashboard Grafana can import: unique panel ids, a grid position and a query per panel', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, not a template literal
    const datasourceVariable = '${datasource}';
    const dashboardSchema = z.object({
      title: z.string().min(1),
      uid: z.string().regex(/^[a-z0-9-]{1,40}$/),
      schemaVersion: z.number().int().min(30),
      templating: z.object({ list: z.array(z.object({ name: z.literal('datasource'), type: z.literal('datasource') })).length(1) }),
      panels: z
        .array(
          z.object({
            id: z.number().int().positive(),
            type: z.enum(['timeseries', 'stat', 'gauge', 'piechart']),
            title: z.string().min(1),
            gridPos: z.object({
              h: z.number().int().positive(),
              w: z.number().int().min(1).max(24),
              x: z.number().int().min(0),
              y: z.number().int().min(0),
            }),
            datasource: z.object({ type: z.literal('prometheus'), uid: z.literal(datasourceVariable) }),
            targets: z.array(z.object({ refId: z.string(), expr: z.string().min(1) })).min(1),
          }),
        )
        .min(10),
    });
    const parsed = dashboardSchema.safeParse(dashboard);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    const ids = dashboard.panels.map((panel: { id: number }) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  // Asynchronous: the platform under test runs in this process and must keep serving meanwhile.
  const promtool = async (args: string[], cwd: string) => (await promisify(execFile)('promtool', args, { cwd, encoding: 'utf8' })).stdout;

  it.skipIf(noPromtool)('has alert rules and dashboard queries promtool accepts, and rules that pass their unit tests', async () => {
    const dir = 'deploy/monitoring';
    expect(await promtool(['check', 'rules', 'alerts.yml'], dir)).toContain('SUCCESS: 10 rules found');
    expect(await promtool(['test', 'rules', 'alerts.test.yml'], dir)).toContain('SUCCESS');
    // promtool parses PromQL only in rules: the dashboard's queries become recording rules.
    const scratch = mkdtempSync(join(tmpdir(), 'dashboard-queries-'));
    try {
      const recording = dashboardExpressions.map(
        (expr, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}`,
      );
      writeFileSync(join(scratch, 'queries.yml'), `groups:\n  - name: dashboard\n    rules:\n${recording.join('\n')}\n`);
      expect(await promtool(['check', 'rules', 'queries.yml'], scratch)).toContain(`SUCCESS: ${dashboardExpressions.length} rules found`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('job logs', () => {
  it("answer a job's platform log to operators only, with a cursor, and name a bad field", async () => {
    const list = await test.http.get('/api/v1/jobs?queue=tenant-ops', { token: operator.accessToken });
    expect(list.status).toBe(200);
    const job = (list.body as Array<{ id: string; state: string }>).find((j) => j.state === 'completed');
    if (!job) throw new Error('no completed tenant-ops job');
    const log = await test.http.get(`/api/v1/jobs/${job.id}/logs`, { token: operator.accessToken });
    expect(log.status, log.text).toBe(200);
    expect(log.body.state).toBe('completed');
    const messages = (log.body.records as Array<{ message: string }>).map((r) => r.message);
    expect(messages[0]).toBe('attempt 1 started');
    expect(messages.at(-1)).toMatch(/^attempt 1 completed in [\d.]+ s$/);
    const after = await test.http.get(`/api/v1/jobs/${job.id}/logs?after=${log.body.next}`, { token: operator.accessToken });
    expect(after.body).toMatchObject({ records: [], next: log.body.next });

    expect((await test.http.get(`/api/v1/jobs/${job.id}/logs`, { token: customer.accessToken })).status).toBe(403);
    const badCursor = await test.http.get(`/api/v1/jobs/${job.id}/logs?after=yesterday`, { token: operator.accessToken });
    expect(badCursor.status).toBe(400);
    expect(badCursor.text).toContain('after');
    const unknown = await test.http.get('/api/v1/jobs/00000000-0000-4000-8000-000000000000/logs', { token: operator.accessToken });
    expect(unknown.status).toBe(404);
  });

  it("are on the tenant's timeline: its jobs (operations and backups), newest first, each with its log lines and a link", async () => {
    const tenant = tenants[1];
    if (!tenant) throw new Error('tenant missing');
    const accepted = await test.http.post(`/api/v1/tenants/${tenant.name}/backups`, {}, { token: operator.accessToken });
    expect(accepted.status, accepted.text).toBe(202);
    const backupJobId = accepted.body.jobId as string;
    expect(backupJobId).toMatch(/^[0-9a-f-]{36}$/);
    const jobs = await waitFor('the backup job to end with its log', async () => {
      const answer = await test.http.get(`/api/v1/tenants/${tenant.name}/jobs`, { token: operator.accessToken });
      expect(answer.status, answer.text).toBe(200);
      const backup = (answer.body as Array<{ id: string; state: string; logs: unknown[] }>).find((j) => j.id === backupJobId);
      return backup?.state === 'completed' && backup.logs.length >= 2 ? answer.body : undefined;
    });
    type TenantJob = {
      id: string;
      queue: string;
      tenant: string;
      createdOn: string;
      logs: Array<{ message: string }>;
      logsPath: string;
      moreLogs: boolean;
    };
    const listed = jobs as TenantJob[];
    // Its provisioning (a tenant-ops job carrying its id) and the backup (found through the backup's row), nobody else's.
    expect(listed.map((j) => j.queue)).toEqual(expect.arrayContaining(['tenant-ops', 'backup']));
    expect(listed.every((j) => j.tenant === tenant.name)).toBe(true);
    const others = (await test.http.get('/api/v1/jobs?queue=tenant-ops&limit=500', { token: operator.accessToken })).body as Array<{
      id: string;
      tenant: string | null;
    }>;
    const foreign = others.filter((j) => j.tenant !== tenant.name).map((j) => j.id);
    expect(foreign.length).toBeGreaterThan(0);
    expect(listed.some((j) => foreign.includes(j.id))).toBe(false);
    expect(listed.map((j) => j.createdOn)).toEqual([...listed.map((j) => j.createdOn)].sort().reverse());
    const backup = listed.find((j) => j.id === backupJobId);
    expect(backup?.logs[0]?.message).toBe('attempt 1 started');
    expect(backup?.logs.at(-1)?.message).toMatch(/^attempt 1 completed in [\d.]+ s$/);
    expect(backup?.moreLogs).toBe(false);
    expect(backup?.logsPath).toBe(`/api/v1/jobs/${backupJobId}/logs`);
    const whole = await test.http.get(backup?.logsPath ?? '', { token: operator.accessToken });
    expect(whole.body.records.map((r: { message: string }) => r.message)).toEqual(backup?.logs.map((r) => r.message));

    expect((await test.http.get(`/api/v1/tenants/${tenant.name}/jobs`, { token: customer.accessToken })).status).toBe(403);
    expect((await test.http.get('/api/v1/tenants/no-such-tenant/jobs', { token: operator.accessToken })).status).toBe(404);
    const bad = await test.http.get(`/api/v1/tenants/${tenant.name}/jobs?limit=0`, { token: operator.accessToken });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('limit');
  }, 120_000);

  it('are followed by `saasctl jobs logs --follow` until the job ends, and listed by `saasctl jobs list`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saasctl-'));
    const env = { SAASCTL_CONFIG: join(dir, 'credentials.json') };
    try {
      const login = await runCli(['--url', test.url, 'login', '--email', operator.email, '--password-stdin'], {
        env,
        input: GOOD_PASSWORD,
      });
      expect(login.code, login.stderr).toBe(0);
      const tenant = tenants[2];
      if (!tenant) throw new Error('tenant missing');
      const restart = await test.http.post(`/api/v1/tenants/${tenant.name}/restart`, {}, { token: operator.accessToken });
      expect(restart.status, restart.text).toBe(202);
      const jobId = restart.body.jobId as string;
      const followed = await runCli(['jobs', 'logs', jobId, '--follow', '--interval', '0.2'], { env, timeoutMs: 120_000 });
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toMatch(/#1 INFO {2}attempt 1 started/);
      expect(followed.stdout).toMatch(/#1 INFO {2}attempt 1 completed in [\d.]+ s/);
      expect(followed.stderr).toContain(`Job ${jobId} is completed.`);
      const listed = await runCli(['jobs', 'list', '--queue', 'tenant-ops', '--json'], { env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((j: { id: string }) => j.id)).toContain(jobId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
