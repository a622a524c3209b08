import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followEvents } from '../../src/cli/events.js';
import type { RuntimeKind } from '../../src/runtimes/index.js';
import { type ChildCommandWatch, commandsLeaking, watchChildCommandLines } from '../helpers/child-command-lines.js';
import { runCli } from '../helpers/cli.js';
import { type GatewayResponse, hostRequest, odooLogin, waitFor, xmlRpcFaultCode, xmlRpcMethodCall } from '../helpers/gateway-client.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { filesUnder, trackPlatformSecrets } from '../helpers/platform-secrets.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The tenant scenarios of issue 3, written once and run several times: against the fake Odoo
 * (always), against a real Odoo when ODOO_BIN is set (tenants.real-odoo.test.ts), and with the
 * plans placed on another runtime than the process one (tenants.docker-scenarios.test.ts).
 */
/** What scenarios defined by one caller only (`options.more`) use of the suite's platform. */
export interface TenantScenarioContext {
  test: () => TestPlatform;
  port: () => number;
  operatorToken: () => string;
  adminPassword: string;
  tenantHost: (name: string) => string;
  /** The tenant database server's superuser URL. */
  adminUrl: () => string;
  /** POST /api/v1/tenants (202 expected) with the scenarios' admin password. */
  createTenant: (token: string, name: string, plan?: string) => Promise<{ tenant: { name: string; state: string }; jobId: string }>;
  /** Follows the tenant's events until it is in `state`; the states seen. */
  untilState: (name: string, token: string, state: string, timeoutMs?: number) => Promise<string[]>;
}

/**
 * Another runtime than the process one for the scenarios: the plans named are placed on it once
 * the platform runs (the others stay on the process runtime; the caller says why).
 */
export interface ScenarioRuntime {
  kind: RuntimeKind;
  plans: readonly string[];
  /** Before the platform starts: its settings for the runtime, and a tenant database server the runtime's Odoo reaches. */
  setUp(): Promise<{ env: Record<string, string>; tenantDatabaseUrl: string }>;
  tearDown(): Promise<void>;
  /**
   * What the runtime's workloads show other local users (container command lines, environments,
   * labels, the processes running in them: none may hold a secret), and the secrets their Odoo
   * configurations hold (the argv scan's list of secrets).
   */
  inspectWorkloads(): Promise<{ exposed: Array<{ where: string; text: string }>; configSecrets: Array<{ kind: string; value: string }> }>;
}

export function defineTenantScenarios(
  label: string,
  odooBin: string,
  options: { templateTimeoutMs: number; runtime?: ScenarioRuntime; more?: (context: TenantScenarioContext) => void },
) {
  const runtimeKind: RuntimeKind = options.runtime?.kind ?? 'process';
  let adminUrlValue = postgresAdminUrl();
  const adminUrl = () => adminUrlValue;
  let test: TestPlatform;
  let port: number;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
  const STAGING_PASSWORD = 'Staging-Pass-22';
  let commandLines: ChildCommandWatch;
  let platformSecrets: ReturnType<typeof trackPlatformSecrets>;

  function tenantHost(name: string): string {
    return `${name}.lvh.me:${port}`;
  }

  /**
   * The gateway's answer for the tenant once it shows the state the API already reports: each
   * replica's route table follows the tenant's events moments after their commit (a tenant that
   * becomes running is confirmed against the database at once; one that leaves running may be
   * served for those moments).
   */
  function gatewayFollows(name: string, shows: (page: GatewayResponse) => boolean): Promise<GatewayResponse> {
    return waitFor(`the gateway to follow ${name}'s state`, async () => {
      const page = await hostRequest(port, tenantHost(name), 'GET', '/web/login');
      return shows(page) ? page : undefined;
    });
  }

  /** Follows the tenant's event stream until its snapshot is in `state`; returns the states seen. */
  async function untilState(name: string, token: string, state: string, timeoutMs = 60_000): Promise<string[]> {
    const seen: string[] = [];
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let reached = false;
    try {
      await followEvents(
        `${test.url}/api/v1/tenants/${name}/events`,
        token,
        (event, data) => {
          if (event === 'event') {
            const e = data as { type: string; toState: string | null };
            if (e.type === 'state' && e.toState) seen.push(e.toState);
          }
          if (event === 'tenant') {
            const t = data as { state: string; stateReason: string | null };
            if (t.state === 'error' && state !== 'error') throw new Error(`tenant ${name} went to error: ${t.stateReason}`);
            // A snapshot can be newer than the events sent before it (the next catch-up sends them).
            if (seen.at(-1) !== t.state && !seen.includes(t.state)) seen.push(t.state);
            reached = t.state === state;
          }
          return reached;
        },
        { signal: controller.signal },
      );
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
    }
    if (!reached) throw new Error(`tenant ${name} did not reach ${state} within ${timeoutMs} ms (saw ${seen.join(' -> ')})`);
    return seen;
  }

  async function createTenant(token: string, name: string, plan = 'basic') {
    const response = await test.http.post(
      '/api/v1/tenants',
      { name, plan, template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD },
      { token },
    );
    expect(response.status, response.text).toBe(202);
    return response.body as { tenant: { name: string; state: string }; jobId: string };
  }

  async function canConnect(url: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (process.env.DEBUG_E2E) console.log(`cannot connect: ${(error as Error).message}`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  describe(`tenants end to end (${label})`, () => {
    beforeAll(async () => {
      // Before the platform starts: its first children (PostgreSQL tools, template builds) count too.
      commandLines = watchChildCommandLines();
      const runtime = await options.runtime?.setUp();
      if (runtime) adminUrlValue = runtime.tenantDatabaseUrl;
      test = await startTestPlatform({
        ODOO_BIN: odooBin,
        TENANT_DATABASE_URL: adminUrl(),
        TEMPLATES_AUTOBUILD: 'blank',
        BASE_DOMAIN: 'lvh.me',
        ...runtime?.env,
      });
      port = Number(new URL(test.url).port);
      // Secrets are snapshotted at every spawn: some (a dedicated server's) are gone by the end.
      platformSecrets = trackPlatformSecrets(test);
      commandLines.onSpawn(() => platformSecrets.refresh());
      platformSecrets.refresh();
      operator = await createOperator(test);
      for (const code of options.runtime?.plans ?? []) await placePlanOn(code, runtimeKind);
      await waitFor(
        'the blank template to be built',
        async () => {
          const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
          const blank = templates.body.find((t: { code: string }) => t.code === 'blank');
          const build = blank?.builds[0];
          if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
          return build?.status === 'ready' ? build : undefined;
        },
        options.templateTimeoutMs,
        200,
      );
      // Pre-made copies of the template are made right after it is built.
      await waitFor(
        'two spare databases',
        async () => {
          const spares = await test.platform.database.db
            .selectFrom('spare_databases')
            .select('status')
            .where('status', '=', 'ready')
            .execute();
          return spares.length >= 2 ? true : undefined;
        },
        120_000,
        200,
      );
    }, options.templateTimeoutMs + 180_000);

    afterAll(async () => {
      commandLines?.stop();
      await test?.stop();
      await options.runtime?.tearDown();
    });

    /** What an operator does to move a plan's new tenants to a runtime: PUT the plan with another placement. */
    async function placePlanOn(code: string, kind: RuntimeKind): Promise<void> {
      const { body: plan } = await test.http.get(`/api/v1/plans/${code}`);
      const { code: _code, archived: _archived, free: _free, ...definition } = plan;
      const placed = await test.http.put(
        `/api/v1/plans/${code}`,
        { ...definition, placement: { ...definition.placement, runtime: kind } },
        { token: operator.accessToken },
      );
      expect(placed.status, placed.text).toBe(200);
    }

    it('creates a tenant: 202, the events stream reaches running, the admin logs in through the gateway', async () => {
      const customer = await registerCustomer(test.http, 'e2e');
      const name = `acme${Date.now().toString(36)}`;
      const created = await createTenant(customer.accessToken, name);
      expect(created.tenant.state).toBe('provisioning');
      const states = await untilState(name, customer.accessToken, 'running');
      expect(states).toEqual(expect.arrayContaining(['starting', 'running']));

      const tenant = await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken });
      expect(tenant.body).toMatchObject({ state: 'running', adminLogin: `admin@${name}.example.com` });
      // Where it lives is for operators only.
      expect(tenant.body).not.toHaveProperty('databaseName');
      const asOperator = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
      expect(asOperator.body.databaseName).toBe(`t_${name}`);

      const login = await odooLogin(port, tenantHost(name), `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD);
      expect(login.status).toBe(200);
      expect(login.body.result?.uid).toBe(2);
      const wrong = await odooLogin(port, tenantHost(name), `t_${name}`, `admin@${name}.example.com`, 'wrong-password');
      expect(wrong.body.error?.data?.name).toBe('odoo.exceptions.AccessDenied');
      // Odoo serves the tenant's own identity, not the template's (its workers cache get_param).
      const uid = login.body.result?.uid as number;
      for (const key of ['web.base.url', 'database.uuid']) {
        const [stored] = await asAdmin<{ value: string }>(`t_${name}`, `SELECT value FROM ir_config_parameter WHERE key = '${key}'`);
        const served = await hostRequest(port, tenantHost(name), 'POST', '/jsonrpc', {
          jsonrpc: '2.0',
          method: 'call',
          id: 1,
          params: {
            service: 'object',
            method: 'execute_kw',
            args: [`t_${name}`, uid, ADMIN_PASSWORD, 'ir.config_parameter', 'get_param', [key]],
          },
        });
        expect(served.json<{ result?: string }>().result, key).toBe(stored?.value);
      }
      expect(
        (await asAdmin<{ value: string }>(`t_${name}`, "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'"))[0]?.value,
      ).toContain(name);

      const timeline = await test.http.get(`/api/v1/tenants/${name}/events`, { token: customer.accessToken });
      const steps = timeline.body.filter((e: { type: string }) => e.type === 'step').map((e: { step: string }) => e.step);
      expect(steps).toEqual(['template', 'placement', 'role', 'clone', 'filestore', 'identity', 'serve', 'login_check']);
      // The admin password is not kept once the login check passed.
      const row = await test.platform.database.db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
      expect(row.admin_password_check_encrypted).toBeNull();
      // The tenant took a pre-made spare: its placeholder role is gone, the tenant role owns everything.
      expect(row.spare_database).toMatch(/^spare_/);
      const ownership = await new Promise<{ owners: string[]; spareRole: number }>((resolve, reject) => {
        const url = new URL(adminUrl());
        url.pathname = `/t_${name}`;
        const client = new pg.Client({ connectionString: url.toString() });
        client
          .connect()
          .then(async () => {
            const owners = await client.query<{ owner: string }>(
              "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace",
            );
            const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [row.spare_database]);
            resolve({ owners: owners.rows.map((r) => r.owner), spareRole: role.rowCount ?? 0 });
          })
          .catch(reject)
          .finally(() => client.end());
      });
      expect(ownership).toEqual({ owners: [`r_${name}`], spareRole: 0 });
    }, 120_000);

    /** Runs `sql` as the superuser in `database` (the tenant databases live on the suite's server). */
    async function asAdmin<T extends pg.QueryResultRow>(database: string, sql: string): Promise<T[]> {
      const url = new URL(adminUrl());
      url.pathname = `/${database}`;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query<T>(sql)).rows;
      } finally {
        await client.end();
      }
    }

    async function runningPoolTenant(label: string): Promise<string> {
      const customer = await registerCustomer(test.http, label);
      const name = `${label}${Date.now().toString(36)}`;
      await createTenant(customer.accessToken, name);
      await untilState(name, customer.accessToken, 'running');
      const row = await test.platform.database.db
        .selectFrom('tenants')
        .select('plan_code')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      expect(row.plan_code).toBe('basic');
      return name;
    }

    it("runs a pool tenant's due scheduled action within two minutes (lastcall moves)", async () => {
      const name = await runningPoolTenant('cron');
      const autovacuum = "(SELECT res_id FROM ir_model_data WHERE module = 'base' AND name = 'autovacuum_job')";
      const [before] = await asAdmin<{ lastcall: string | null }>(
        `t_${name}`,
        `SELECT lastcall::text FROM ir_cron WHERE id = ${autovacuum}`,
      );
      await asAdmin(
        `t_${name}`,
        `UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '1 minute', active = true WHERE id = ${autovacuum}`,
      );
      // Odoo's cron workers also wake on this (ir.cron._trigger sends it); otherwise within 60 s.
      await asAdmin('postgres', 'NOTIFY cron_trigger');
      const started = Date.now();
      const after = await waitFor(
        `the auto-vacuum job of t_${name} to run`,
        async () => {
          const [row] = await asAdmin<{ lastcall: string | null }>(
            `t_${name}`,
            `SELECT lastcall::text FROM ir_cron WHERE id = ${autovacuum}`,
          );
          return row?.lastcall && row.lastcall !== before?.lastcall ? row.lastcall : undefined;
        },
        120_000,
        500,
      );
      console.info(`[${label}] due ir.cron of pool tenant ran after ${Date.now() - started} ms (lastcall ${before?.lastcall} -> ${after})`);
      // The operator's view of the pool (saasctl doctor, the console's Pools page). A Docker
      // pool's web container reads `starting` until the engine's first health check (10 s after
      // the container started), although it already served: wait for that rather than race it.
      type PoolView = { tenants: number; processes: Array<{ unit: string; state: string }> };
      const pool = await waitFor(
        'the pool to report its processes running',
        async () => {
          const pools = await test.http.get('/api/v1/pools', { token: operator.accessToken });
          expect(pools.status).toBe(200);
          const found = pools.body.find((p: PoolView) => p.tenants > 0);
          return found?.processes.every((p: { state: string }) => p.state !== 'starting') ? found : undefined;
        },
        60_000,
        500,
      );
      expect(pool.runtime).toBe(runtimeKind);
      expect(pool.processes.map((p: { unit: string; state: string }) => [p.unit, p.state])).toEqual([
        ['web', 'running'],
        ['cron', 'running'],
      ]);
      expect(pool.memoryBytes).toBeGreaterThan(0);
      expect(pool.connections.used).toBeGreaterThan(0);
      expect(pool.connections.used).toBeLessThanOrEqual(pool.connections.budget);
      expect(pool.cron.unreadable).toBe(0);
      // Odoo's cron workers wake at least every minute: nothing due waits for long.
      expect(pool.cron.lagSeconds ?? 0).toBeLessThan(300);
      console.info(
        `[${label}] pool ${pool.name}: ${pool.tenants} tenants, ${pool.processes.map((p: { processes: number }) => p.processes).join('+')} processes, ` +
          `${Math.round(pool.memoryBytes / 1048576)} MiB, ${pool.connections.used}/${pool.connections.budget} connections, cron lag ${pool.cron.lagSeconds ?? 0} s`,
      );
    }, 200_000);

    it("serves a new tenant's first /web with the bundles the template stored: nothing compiled", async () => {
      const name = await runningPoolTenant('assets');
      const count = async () =>
        Number(
          (await asAdmin<{ count: string }>(`t_${name}`, "SELECT count(*) AS count FROM ir_attachment WHERE url LIKE '/web/assets/%'"))[0]
            ?.count,
        );
      const stored = await count();
      expect(stored).toBeGreaterThan(0);
      const host = tenantHost(name);
      const loginPage = await hostRequest(port, host, 'GET', '/web/login');
      expect(loginPage.status).toBe(200);
      const login = await odooLogin(port, host, `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD);
      const cookie = ([login.headers['set-cookie']].flat()[0] ?? '').split(';')[0] ?? '';
      const backend = await hostRequest(port, host, 'GET', '/web', undefined, { cookie });
      expect(backend.status).toBe(200);
      const links = [...`${loginPage.text}${backend.text}`.matchAll(/(?:href|src)="(\/web\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
      expect(links.length).toBeGreaterThan(0);
      for (const link of new Set(links)) expect((await hostRequest(port, host, 'GET', link, undefined, { cookie })).status).toBe(200);
      // A bundle compiled now would be stored now.
      expect(await count()).toBe(stored);
      console.info(`[${label}] first /web of a new tenant: ${new Set(links).size} asset URLs, ${stored} stored bundles, none compiled`);
    }, 200_000);

    it('walks every lifecycle action, with the gateway following each state', async () => {
      const customer = await registerCustomer(test.http, 'lifecycle');
      const name = `life${Date.now().toString(36)}`;
      await createTenant(customer.accessToken, name);
      await untilState(name, customer.accessToken, 'running');
      const act = async (action: string, token = customer.accessToken) => {
        const response = await test.http.post(`/api/v1/tenants/${name}/${action}`, undefined, { token });
        expect(response.status, `${action}: ${response.text}`).toBe(202);
        return response.body;
      };

      await act('stop');
      await untilState(name, customer.accessToken, 'stopped');
      const stoppedPage = await gatewayFollows(name, (page) => page.status === 503);
      expect(stoppedPage.text).toMatch(/stopped/i);

      const refused = await test.http.post(`/api/v1/tenants/${name}/stop`, undefined, { token: customer.accessToken });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toMatch(/stopped/);

      await act('start');
      await untilState(name, customer.accessToken, 'running');
      expect((await odooLogin(port, tenantHost(name), `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD)).body.result?.uid).toBe(2);

      await act('restart');
      await untilState(name, customer.accessToken, 'running');

      expect((await test.http.post(`/api/v1/tenants/${name}/suspend`, undefined, { token: customer.accessToken })).status).toBe(403);
      await act('suspend', operator.accessToken);
      await untilState(name, customer.accessToken, 'suspended');
      const suspendedPage = await gatewayFollows(name, (page) => page.status === 403);
      expect(suspendedPage.text).toMatch(/suspended/i);
      await act('resume', operator.accessToken);
      await untilState(name, customer.accessToken, 'running');

      await act('schedule-delete');
      await untilState(name, customer.accessToken, 'scheduled_for_deletion');
      const scheduled = await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken });
      expect(new Date(scheduled.body.deleteAfter).getTime() - Date.now()).toBeGreaterThan(11.9 * 3600_000);
      // The history says where a cancel returns to, so the cancel is offered (the dashboard's button).
      expect(scheduled.body.allowedActions).toContain('cancel_delete');
      await act('cancel-delete');
      await untilState(name, customer.accessToken, 'running');

      await act('force-delete', operator.accessToken);
      await untilState(name, operator.accessToken, 'deleted');
      const admin = adminUrl();
      await waitFor('database, role and filestore to be removed', async () => {
        const client = new pg.Client({ connectionString: admin });
        await client.connect();
        try {
          const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [`t_${name}`]);
          const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`r_${name}`]);
          const filestore = existsSync(join(test.config.dataDir, 'odoo', 'filestore', `t_${name}`));
          return db.rowCount === 0 && role.rowCount === 0 && !filestore ? true : undefined;
        } finally {
          await client.end();
        }
      });
      const gone = await hostRequest(port, tenantHost(name), 'GET', '/web/login');
      expect(gone.status).toBe(404);
      // The name is free again.
      expect((await test.http.get(`/api/v1/tenant-names/${name}`, { token: customer.accessToken })).body.available).toBe(true);
    }, 200_000);

    it('keeps tenants apart: host A cannot open database B through /web, /jsonrpc or /xmlrpc; role A reaches only database A', async () => {
      const customerA = await registerCustomer(test.http, 'iso-a');
      const customerB = await registerCustomer(test.http, 'iso-b');
      const a = `isoa${Date.now().toString(36)}`;
      const b = `isob${Date.now().toString(36)}`;
      await createTenant(customerA.accessToken, a);
      await createTenant(customerB.accessToken, b);
      await untilState(a, customerA.accessToken, 'running');
      await untilState(b, customerB.accessToken, 'running');

      // Customer A cannot even see tenant B.
      expect((await test.http.get(`/api/v1/tenants/${b}`, { token: customerA.accessToken })).status).toBe(404);

      const webLogin = await odooLogin(port, tenantHost(a), `t_${b}`, `admin@${b}.example.com`, ADMIN_PASSWORD);
      expect(webLogin.body.result?.uid).toBeUndefined();

      const jsonrpc = await hostRequest(port, tenantHost(a), 'POST', '/jsonrpc', {
        jsonrpc: '2.0',
        method: 'call',
        id: 1,
        params: { service: 'common', method: 'authenticate', args: [`t_${b}`, `admin@${b}.example.com`, ADMIN_PASSWORD, {}] },
      });
      expect(jsonrpc.status).toBe(403);
      const ownJsonrpc = await hostRequest(port, tenantHost(a), 'POST', '/jsonrpc', {
        jsonrpc: '2.0',
        method: 'call',
        id: 1,
        params: { service: 'common', method: 'authenticate', args: [`t_${a}`, `admin@${a}.example.com`, ADMIN_PASSWORD, {}] },
      });
      expect(ownJsonrpc.status).toBe(200);
      expect(ownJsonrpc.json().result).toBe(2);

      const xml = (db: string) =>
        `<?xml version="1.0"?><methodCall><methodName>authenticate</methodName><params><param><value><string>${db}</string></value></param><param><value><string>admin@${b}.example.com</string></value></param><param><value><string>${ADMIN_PASSWORD}</string></value></param><param><value><struct></struct></value></param></params></methodCall>`;
      const xmlrpc = await hostRequest(port, tenantHost(a), 'POST', '/xmlrpc/2/common', xml(`t_${b}`));
      expect(xmlrpc.status).toBe(403);
      const dbList = await hostRequest(port, tenantHost(a), 'POST', '/jsonrpc', {
        jsonrpc: '2.0',
        method: 'call',
        params: { service: 'db', method: 'list', args: [] },
      });
      expect(dbList.status).toBe(403);

      // The pool's Odoo refuses by itself too (odoo-addons/saas_rpc_guard): a website rewrite can
      // make Odoo's RPC controller answer at any path, which the gateway cannot tell from an
      // ordinary page. So these go straight to the pool, past the gateway, with host A.
      const tenantId = async (name: string) =>
        (await test.platform.database.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
      const upstream = test.platform.runtimes.get(runtimeKind).upstream(await tenantId(a));
      if (!upstream) throw new Error(`tenant ${a} has no upstream`);
      expect(test.platform.runtimes.get(runtimeKind).upstream(await tenantId(b))?.port, 'A and B share one pool').toBe(upstream.port);
      const direct = (host: string, path: string, body: unknown) => hostRequest(upstream.port, host, 'POST', path, body);
      const hostA = `${a}.lvh.me`;
      const jsonCall = (service: string, method: string, args: unknown[]) => ({
        jsonrpc: '2.0',
        method: 'call',
        id: 1,
        params: { service, method, args },
      });
      // B's own admin credentials: only the guard stands between host A and database B.
      const readAdmin = (database: string) => [
        database,
        2,
        ADMIN_PASSWORD,
        'res.users',
        'search_read',
        [[['id', '=', 2]]],
        { fields: ['login'] },
      ];
      const refusal = (response: GatewayResponse) => response.json().error?.data?.name;

      const ownObject = await direct(hostA, '/jsonrpc', jsonCall('object', 'execute_kw', readAdmin(`t_${a}`)));
      expect(ownObject.json().result).toEqual([{ id: 2, login: `admin@${a}.example.com` }]);
      // Proof that the credentials work on B's database from B's host.
      const bFromB = await direct(`${b}.lvh.me`, '/jsonrpc', jsonCall('object', 'execute_kw', readAdmin(`t_${b}`)));
      expect(bFromB.json().result).toEqual([{ id: 2, login: `admin@${b}.example.com` }]);
      const bFromA = await direct(hostA, '/jsonrpc', jsonCall('object', 'execute_kw', readAdmin(`t_${b}`)));
      expect(bFromA.json().result).toBeUndefined();
      expect(refusal(bFromA)).toBe('odoo.exceptions.AccessDenied');
      const loginB = await direct(
        hostA,
        '/jsonrpc',
        jsonCall('common', 'authenticate', [`t_${b}`, `admin@${b}.example.com`, ADMIN_PASSWORD, {}]),
      );
      expect(refusal(loginB)).toBe('odoo.exceptions.AccessDenied');
      expect((await direct(hostA, '/jsonrpc', jsonCall('db', 'server_version', []))).json().error?.data?.name).toBe(
        'odoo.exceptions.AccessDenied',
      );
      // Calls that name no database still work.
      expect((await direct(hostA, '/jsonrpc', jsonCall('common', 'version', []))).json().result?.protocol_version).toBe(1);

      const xmlObject = (database: string) => xmlRpcMethodCall('execute_kw', readAdmin(database));
      const ownXml = await direct(hostA, '/xmlrpc/2/object', xmlObject(`t_${a}`));
      expect(xmlRpcFaultCode(ownXml.text)).toBeUndefined();
      expect(ownXml.text).toContain(`admin@${a}.example.com`);
      const bXml = await direct(hostA, '/xmlrpc/2/object', xmlObject(`t_${b}`));
      expect(bXml.text).not.toContain(`admin@${b}.example.com`);
      expect(xmlRpcFaultCode(bXml.text)).toBe(3); // AccessDenied
      for (const method of ['list', 'server_version']) {
        expect(xmlRpcFaultCode((await direct(hostA, '/xmlrpc/2/db', xmlRpcMethodCall(method, []))).text), `db.${method}`).toBe(3);
      }

      // Role A: its own database yes; database B and the platform database no.
      const rowA = await test.platform.database.db.selectFrom('tenants').selectAll().where('name', '=', a).executeTakeFirstOrThrow();
      const { createSecretBox } = await import('../../src/secrets/index.js');
      const password = createSecretBox(test.config.secretKey ?? '').decrypt(rowA.role_password_encrypted);
      const roleUrl = (database: string) => {
        const url = new URL(adminUrl());
        url.username = rowA.role_name;
        url.password = password;
        url.pathname = `/${database}`;
        return url.toString();
      };
      expect(await canConnect(roleUrl(`t_${a}`))).toBe(true);
      expect(await canConnect(roleUrl(`t_${b}`))).toBe(false);
      expect(await canConnect(roleUrl(test.database.name))).toBe(false);
    }, 200_000);

    it('refuses bad tenant requests with a 4xx naming the field and creates nothing', async () => {
      const customer = await registerCustomer(test.http, 'badtenant');
      const base = { name: 'goodname', plan: 'basic', template: 'blank', adminEmail: 'a@example.com', adminPassword: ADMIN_PASSWORD };
      const cases: Array<[Record<string, unknown>, number, string]> = [
        [{ ...base, name: 'ab' }, 400, 'name'],
        [{ ...base, name: 'www' }, 400, 'name'],
        [{ ...base, name: 'Bad_Name!' }, 400, 'name'],
        [{ ...base, plan: 'gold' }, 400, 'plan'],
        [{ ...base, template: 'nope' }, 400, 'template'],
        [{ ...base, adminEmail: 'not-an-email' }, 400, 'adminEmail'],
        [{ ...base, adminPassword: 'short' }, 400, 'adminPassword'],
        [{ ...base, extra: 1 }, 400, 'extra'],
      ];
      for (const [body, status, field] of cases) {
        const response = await test.http.post('/api/v1/tenants', body, { token: customer.accessToken });
        expect(response.status, JSON.stringify(body)).toBe(status);
        expect(response.body.field, JSON.stringify(body)).toBe(field);
      }
      const list = await test.http.get('/api/v1/tenants', { token: customer.accessToken });
      expect(list.body).toEqual([]);
      expect((await test.http.get('/api/v1/tenants/nosuchtenant', { token: customer.accessToken })).status).toBe(404);
      expect((await test.http.post('/api/v1/tenants/nosuchtenant/stop', undefined, { token: customer.accessToken })).status).toBe(404);
      const taken = `taken${Date.now().toString(36)}`;
      await createTenant(customer.accessToken, taken);
      const duplicate = await test.http.post('/api/v1/tenants', { ...base, name: taken }, { token: customer.accessToken });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.field).toBe('name');
      await untilState(taken, customer.accessToken, 'running');
    }, 200_000);

    it('serves a standard tenant with its own Odoo process and a premium tenant on its own PostgreSQL server', async () => {
      const customer = await registerCustomer(test.http, 'dedicated');
      const standard = `std${Date.now().toString(36)}`;
      const premium = `prem${Date.now().toString(36)}`;
      await createTenant(customer.accessToken, standard, 'standard');
      await createTenant(customer.accessToken, premium, 'premium');
      await untilState(standard, customer.accessToken, 'running', 120_000);
      await untilState(premium, customer.accessToken, 'running', 120_000);
      for (const name of [standard, premium]) {
        const login = await odooLogin(port, tenantHost(name), `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD);
        expect(login.body.result?.uid, name).toBe(2);
      }
      const standardView = (await test.http.get(`/api/v1/tenants/${standard}`, { token: operator.accessToken })).body;
      const premiumView = (await test.http.get(`/api/v1/tenants/${premium}`, { token: operator.accessToken })).body;
      expect(standardView.processStrategy).toBe('dedicated');
      const servers = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{
        id: string;
        kind: string;
        isDefault: boolean;
      }>;
      expect(servers.find((s) => s.id === standardView.databaseServerId)?.isDefault).toBe(true);
      const dedicatedServer = servers.find((s) => s.id === premiumView.databaseServerId);
      expect(dedicatedServer?.kind).toBe('dedicated');

      const logs = await test.http.get(`/api/v1/tenants/${standard}/logs?lines=50`, { token: customer.accessToken });
      expect(logs.status).toBe(200);
      expect(logs.body.lines.length).toBeGreaterThan(0);
      // Searched: the admin's login above, as Odoo's access log (werkzeug, INFO) recorded it.
      const since = new Date(Date.now() - 10 * 60_000).toISOString();
      const search = `/api/v1/tenants/${standard}/logs?q=${encodeURIComponent('POST /web/session/authenticate')}&level=INFO&since=${since}`;
      const found = await test.http.get(search, { token: customer.accessToken });
      expect(found.status, found.text).toBe(200);
      expect(found.body.records.length).toBeGreaterThan(0);
      for (const record of found.body.records) {
        expect(record).toMatchObject({ logger: 'werkzeug', level: 'INFO' });
        expect(record.lines.join('\n')).toContain('POST /web/session/authenticate');
      }
      // Nothing at ERROR and above mentions it, and nothing is stamped in the next hour.
      const errors = await test.http.get(`${search.replace('level=INFO', 'level=ERROR')}`, { token: customer.accessToken });
      expect(errors.body.records).toEqual([]);
      const future = await test.http.get(`/api/v1/tenants/${standard}/logs?since=${new Date(Date.now() + 3_600_000).toISOString()}`, {
        token: customer.accessToken,
      });
      expect(future.body.records).toEqual([]);
      expect((await test.http.get(`/api/v1/tenants/${standard}/logs?level=LOUD`, { token: customer.accessToken })).status).toBe(400);

      // Deleting the premium tenant removes its dedicated server too.
      expect((await test.http.post(`/api/v1/tenants/${premium}/force-delete`, undefined, { token: operator.accessToken })).status).toBe(
        202,
      );
      await untilState(premium, operator.accessToken, 'deleted');
      await waitFor('the dedicated server to be removed', async () => {
        const after = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{ id: string }>;
        return after.some((s) => s.id === dedicatedServer?.id) ? undefined : true;
      });
    }, 240_000);

    it('drives tenants from the CLI: create follows the events stream, list, stop, show', async () => {
      const customer = await registerCustomer(test.http, 'cli');
      const dir = mkdtempSync(join(tmpdir(), 'saasctl-'));
      const env = { SAASCTL_CONFIG: join(dir, 'credentials.json') };
      try {
        const login = await runCli(['--url', test.url, 'login', '--email', customer.email, '--password-stdin'], {
          env,
          input: GOOD_PASSWORD,
        });
        expect(login.code, login.stderr).toBe(0);
        const name = `cli${Date.now().toString(36)}`;
        const created = await runCli(
          [
            'tenant',
            'create',
            name,
            '--plan',
            'basic',
            '--template',
            'blank',
            '--admin-email',
            `admin@${name}.example.com`,
            '--admin-password-stdin',
            '--json',
          ],
          { env, input: ADMIN_PASSWORD, timeoutMs: 120_000 },
        );
        expect(created.code, created.stderr).toBe(0);
        expect(JSON.parse(created.stdout)).toMatchObject({ name, state: 'running' });
        const list = await runCli(['tenant', 'list', '--json'], { env });
        expect(JSON.parse(list.stdout).map((t: { name: string }) => t.name)).toContain(name);
        const stopped = await runCli(['tenant', 'stop', name, '--json'], { env, timeoutMs: 120_000 });
        expect(JSON.parse(stopped.stdout).state).toBe('stopped');
        const refused = await runCli(['tenant', 'stop', name], { env });
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/stopped/);
        const table = await runCli(['tenant', 'list'], { env });
        expect(table.stdout).toMatch(new RegExp(`${name}\\s+stopped`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 240_000);

    it('makes a neutralised staging copy with its own identity, and reports usage', async () => {
      const customer = await registerCustomer(test.http, 'dup');
      const source = `src${Date.now().toString(36)}`;
      const copy = `${source}-staging`;
      await createTenant(customer.accessToken, source);
      await untilState(source, customer.accessToken, 'running');
      const usage = await test.http.get(`/api/v1/tenants/${source}/usage`, { token: customer.accessToken });
      expect(usage.status).toBe(200);
      expect(usage.body.odooUsers).toBe(1);
      expect(usage.body.databaseBytes).toBeGreaterThan(1_000_000);
      expect(usage.body.limits).toEqual({
        odooUsers: 3,
        storageBytes: 5 * 1024 ** 3,
        // The basic plan's enforcement (docs/operations/usage.md).
        warnAtPercent: 80,
        blockNewUsers: true,
        deactivateExcessUsersAfterHours: 72,
        storageAtLimit: 'read_only',
      });

      // A copy is a second basic tenant, more than the plan allows a customer; operators are exempt.
      const refused = await test.http.post(
        `/api/v1/tenants/${source}/duplicate`,
        { name: copy, adminPassword: STAGING_PASSWORD },
        { token: customer.accessToken },
      );
      expect(refused.status).toBe(409);
      expect(refused.body.field).toBe('plan');

      const requested = await test.http.post(
        `/api/v1/tenants/${source}/duplicate`,
        { name: copy, adminPassword: STAGING_PASSWORD },
        { token: operator.accessToken },
      );
      expect(requested.status, requested.text).toBe(202);
      await untilState(copy, customer.accessToken, 'running', 120_000);
      const view = (await test.http.get(`/api/v1/tenants/${copy}`, { token: customer.accessToken })).body;
      expect(view.duplicateOf).toBeTruthy();
      const login = await odooLogin(port, tenantHost(copy), `t_${copy}`, `admin@${source}.example.com`, STAGING_PASSWORD);
      expect(login.body.result?.uid).toBe(2);
      // The source keeps working, with its own password.
      expect(
        (await odooLogin(port, tenantHost(source), `t_${source}`, `admin@${source}.example.com`, ADMIN_PASSWORD)).body.result?.uid,
      ).toBe(2);
      const params = async (database: string) => {
        const url = new URL(adminUrl());
        url.pathname = `/${database}`;
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          const rows = (await client.query<{ key: string; value: string }>('SELECT key, value FROM ir_config_parameter')).rows;
          return Object.fromEntries(rows.map((r) => [r.key, r.value]));
        } finally {
          await client.end();
        }
      };
      const [sourceParams, copyParams] = await Promise.all([params(`t_${source}`), params(`t_${copy}`)]);
      expect(copyParams['database.is_neutralized']).toMatch(/true/i);
      expect(sourceParams['database.is_neutralized']).toBeUndefined();
      expect(copyParams['database.uuid']).not.toBe(sourceParams['database.uuid']);
      expect(copyParams['web.base.url']).toContain(copy);
      expect(copyParams['web.base.url.freeze']).toBe('True');
    }, 240_000);

    it('soft delete: terminated after 12 h, reactivatable, deleted with its data after 30 days (lifecycle sweep)', async () => {
      const customer = await registerCustomer(test.http, 'sweep');
      const name = `sweep${Date.now().toString(36)}`;
      await createTenant(customer.accessToken, name);
      await untilState(name, customer.accessToken, 'running');
      const hour = 3600_000;
      expect((await test.http.post(`/api/v1/tenants/${name}/schedule-delete`, undefined, { token: customer.accessToken })).status).toBe(
        202,
      );
      await untilState(name, customer.accessToken, 'scheduled_for_deletion');
      // Not yet: the 12 hours are not over.
      await test.platform.sweepLifecycle(new Date(Date.now() + 11 * hour));
      expect((await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken })).body.state).toBe('scheduled_for_deletion');
      await test.platform.sweepLifecycle(new Date(Date.now() + 13 * hour));
      const terminated = (await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken })).body;
      expect(terminated.state).toBe('terminated');
      expect(terminated.allowedActions).toContain('reactivate');
      expect((await test.http.post(`/api/v1/tenants/${name}/reactivate`, undefined, { token: customer.accessToken })).status).toBe(202);
      await untilState(name, customer.accessToken, 'running');
      expect((await odooLogin(port, tenantHost(name), `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD)).body.result?.uid).toBe(2);

      await test.http.post(`/api/v1/tenants/${name}/schedule-delete`, undefined, { token: customer.accessToken });
      await untilState(name, customer.accessToken, 'scheduled_for_deletion');
      await test.platform.sweepLifecycle(new Date(Date.now() + 13 * hour));
      await test.platform.sweepLifecycle(new Date(Date.now() + 13 * hour + 29 * 24 * hour));
      expect((await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken })).body.state).toBe('terminated');
      await test.platform.sweepLifecycle(new Date(Date.now() + 13 * hour + 31 * 24 * hour));
      await untilState(name, customer.accessToken, 'deleted');
      await waitFor('the database to be dropped', async () => {
        const client = new pg.Client({ connectionString: adminUrl() });
        await client.connect();
        try {
          return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [`t_${name}`])).rowCount === 0 ? true : undefined;
        } finally {
          await client.end();
        }
      });
    }, 240_000);

    it('unknown hosts get a page that names no tenant', async () => {
      const unknown = await hostRequest(port, tenantHost('nosuchtenant'), 'GET', '/web/login');
      expect(unknown.status).toBe(404);
      expect(unknown.text).not.toMatch(/t_|acme|iso/);
    });

    it('serves the platform itself on localhost and app.<base domain>', async () => {
      expect((await hostRequest(port, `localhost:${port}`, 'GET', '/healthz')).status).toBe(200);
      expect((await hostRequest(port, `app.lvh.me:${port}`, 'GET', '/api/v1/plans')).status).toBe(200);
    });

    // The caller's own scenarios (the real Odoo's backup and restore), before the argv scan sees what they made the platform start.
    options.more?.({
      test: () => test,
      port: () => port,
      operatorToken: () => operator.accessToken,
      adminPassword: ADMIN_PASSWORD,
      tenantHost,
      adminUrl,
      createTenant,
      untilState,
    });

    // Runs last: it checks what every scenario above made the platform start. Issue 15 item 3.
    it('puts no secret on the command line of any process it started (argv scan)', async () => {
      const commands = commandLines.commands();
      const secrets = await platformSecrets.all();
      // Odoo admin and account passwords, chosen by users (the platform keeps them only briefly).
      for (const password of [ADMIN_PASSWORD, STAGING_PASSWORD, GOOD_PASSWORD]) {
        secrets.set(password, new Set([...(secrets.get(password) ?? []), 'user-chosen password']));
      }
      // The scan is not vacuous: it saw the processes where secrets would go, and knows the secrets.
      const programs = new Set(commands.filter((c) => c.source === 'spawn').map((c) => basename(c.argv[0] ?? '')));
      expect([...programs]).toEqual(expect.arrayContaining(['pg_dump', 'pg_restore', 'initdb', 'pg_ctl', basename(odooBin)]));
      expect(commands.some((c) => c.source === 'proc' && /postgres/.test(c.argv[0] ?? ''))).toBe(true);
      const kinds = [...secrets.values()].flatMap((of) => [...of]);
      expect([...new Set(kinds)]).toEqual(
        expect.arrayContaining([
          'SECRET_KEY',
          'platform database password',
          'database server admin password',
          'tenant role password',
          'Odoo config db_password',
          'Odoo config admin_passwd',
          'managed PostgreSQL superuser password',
          'user-chosen password',
        ]),
      );
      // The default server's and the premium tenant's dedicated server's.
      expect(kinds.filter((kind) => kind === 'database server admin password').length).toBeGreaterThanOrEqual(2);
      expect(commandsLeaking(commands, secrets)).toEqual([]);
      // The runtime's own workloads (containers: their command, environment, labels and the
      // processes in them) are not children of the platform: the runtime shows them.
      if (options.runtime) {
        const workloads = await options.runtime.inspectWorkloads();
        for (const { kind, value } of workloads.configSecrets) secrets.set(value, new Set([...(secrets.get(value) ?? []), kind]));
        expect(workloads.configSecrets.map((secret) => secret.kind)).toEqual(
          expect.arrayContaining(['Odoo config db_password', 'Odoo config admin_passwd']),
        );
        expect(workloads.exposed.length).toBeGreaterThan(0);
        const leaks = workloads.exposed.flatMap(({ where, text }) =>
          [...secrets.entries()]
            .filter(([secret]) => secret.length >= 8 && text.includes(secret))
            .map(([, of]) => `${where}: ${[...of].join(', ')}`),
        );
        expect(leaks).toEqual([]);
      }
      // Files are the other place to read secrets from: the ones holding any are the platform
      // user's only, and logs hold none.
      const holdsSecret = (file: string) => {
        const text = readFileSync(file, 'utf8');
        return [...secrets.keys()].some((secret) => secret.length >= 8 && text.includes(secret));
      };
      const files = filesUnder(test.config.dataDir);
      // Odoo removes filestore checklist entries as it goes: a file gone since the listing holds nothing.
      const openToOthers = (file: string) => ((statSync(file, { throwIfNoEntry: false })?.mode ?? 0) & 0o077) !== 0;
      expect(files.filter((file) => openToOthers(file) && holdsSecret(file))).toEqual([]);
      expect(files.filter((file) => file.endsWith('.log') && holdsSecret(file))).toEqual([]);
    });
  });
}
