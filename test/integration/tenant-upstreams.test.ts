import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ODOO_MISSING, recordedUpstream, recordUpstream, type TenantServeSpec } from '../../src/runtimes/index.js';
import { requestTenantAsOperator, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';

/**
 * Where tenants are served, as every replica's gateway learns it: the runtime kind chosen at
 * placement, and the upstreams recorded in the platform database (runtimes/upstream-store.ts),
 * each change with a `tenant.upstream_changed` event. Real PostgreSQL, tenants made through the
 * API, no job workers and no Odoo (so the process runtime is the null one).
 */
let platform: TenantRequestsPlatform;
const db = () => platform.test.platform.database.db;

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('upstreams');
}, 60_000);

afterAll(async () => {
  await platform?.test.stop();
});

async function newTenant(plan = 'standard'): Promise<{ id: string; name: string }> {
  return requestTenantAsOperator(platform, 'up', plan);
}

async function upstreamEvents(tenantId: string): Promise<number> {
  const rows = await db()
    .selectFrom('domain_events')
    .select('id')
    .where('stream', '=', `tenant:${tenantId}`)
    .where('type', '=', 'tenant.upstream_changed')
    .execute();
  return rows.length;
}

async function runtimeOf(tenantId: string): Promise<string> {
  return (await db().selectFrom('tenants').select('runtime').where('id', '=', tenantId).executeTakeFirstOrThrow()).runtime;
}

/** Asks for a plan with this placement runtime (as an operator would). */
function createPlan(label: string, runtime: string) {
  return platform.test.http.post(
    '/api/v1/plans',
    {
      code: `${label}-${Date.now().toString(36)}`,
      name: `Runtime ${runtime}`,
      limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 5 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block', runtime },
      prices: [],
    },
    { token: platform.operator.accessToken },
  );
}

describe('runtime placement', () => {
  it("records the plan's runtime kind on the tenant, process when the plan names none", async () => {
    const plain = await newTenant();
    expect(await runtimeOf(plain.id)).toBe('process');

    const plan = await createPlan('k8s', 'kubernetes');
    expect(plan.status, plan.text).toBe(201);
    expect(plan.body.placement.runtime).toBe('kubernetes');
    const onKubernetes = await newTenant(plan.body.code);
    expect(await runtimeOf(onKubernetes.id)).toBe('kubernetes');
  });

  it('refuses an unknown runtime kind in a plan, naming the field', async () => {
    const plan = await createPlan('bad', 'mainframe');
    expect(plan.status).toBe(400);
    expect(plan.text).toContain('placement.runtime');
  });
});

describe('recorded upstreams', () => {
  it('records a served upstream once, records new ports, and publishes each change', async () => {
    const tenant = await newTenant();
    const first = { host: '127.0.0.1', port: 40_001, websocketPort: 40_002 };
    await recordUpstream(db(), tenant.id, 'process', first);
    expect(await recordedUpstream(db(), tenant.id)).toEqual(first);
    expect(await upstreamEvents(tenant.id)).toBe(1);

    // A restore that finds the tenant where it was writes nothing and tells nobody.
    await recordUpstream(db(), tenant.id, 'process', { ...first });
    expect(await upstreamEvents(tenant.id)).toBe(1);

    // A pool started again on other ports (after a platform restart).
    const moved = { host: '127.0.0.1', port: 40_011 };
    await recordUpstream(db(), tenant.id, 'process', moved);
    expect(await recordedUpstream(db(), tenant.id)).toEqual(moved);
    expect(await upstreamEvents(tenant.id)).toBe(2);
  });

  it("a replica shutting down clears only what it recorded, not another replica's newer record", async () => {
    const tenant = await newTenant();
    const old = { host: '127.0.0.1', port: 40_021 };
    const newer = { host: '127.0.0.1', port: 40_022 };
    await recordUpstream(db(), tenant.id, 'process', newer);
    await recordUpstream(db(), tenant.id, 'process', undefined, { onlyIfStill: old });
    expect(await recordedUpstream(db(), tenant.id)).toEqual(newer);
    await recordUpstream(db(), tenant.id, 'process', undefined, { onlyIfStill: newer });
    expect(await recordedUpstream(db(), tenant.id)).toBeUndefined();
    expect(await upstreamEvents(tenant.id)).toBe(2);
  });

  it("the registry's runtime clears the record when it unserves, and records nothing when it cannot serve", async () => {
    const tenant = await newTenant();
    await recordUpstream(db(), tenant.id, 'process', { host: '127.0.0.1', port: 40_031 });
    const row = await db().selectFrom('tenants').selectAll().where('id', '=', tenant.id).executeTakeFirstOrThrow();
    const runtime = platform.test.platform.runtimes.for(row);

    await runtime.unserve(tenant.id);
    expect(await recordedUpstream(db(), tenant.id)).toBeUndefined();

    // No Odoo on this platform: the process runtime is the null one, with its one clear error.
    const spec: TenantServeSpec = {
      tenantId: tenant.id,
      tenantName: tenant.name,
      hostName: `${tenant.name}.example.com`,
      databaseName: row.database_name,
      processStrategy: 'pool',
      databaseServerId: 'none',
      tenantRole: { host: '127.0.0.1', port: 5432, user: row.role_name, password: 'unused' },
      limits: { cpu: 1, memoryMiB: 1024 },
      replicas: 1,
    };
    await expect(runtime.serve(spec)).rejects.toThrow(ODOO_MISSING);
    expect(await recordedUpstream(db(), tenant.id)).toBeUndefined();
  });
});
