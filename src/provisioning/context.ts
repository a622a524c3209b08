import type { TenantRow } from '../db/index.js';
import type { Plan } from '../plans/index.js';
import type { DatabaseServerOperations } from '../postgres/index.js';
import type { TenantServeSpec, Upstream } from '../runtimes/index.js';
import { TEMPLATE_OWNER_ROLE } from '../templates/index.js';
import { loadTenant, type ProvisioningDependencies } from './dependencies.js';
import { serveSpecOf } from './serve-spec.js';

/** Connection limit of one tenant database (all of its Odoo processes together). */
export const TENANT_CONNECTION_LIMIT = 64;

export type PlacedTenant = TenantRow & { server_id: string };

/** Where a tenant's database and files are copied from. */
export type CloneSource =
  /** A ready template build on the tenant's shared server; the clone step takes a spare copy of it when one is ready. */
  | { kind: 'template'; templateDatabase: string }
  /** A spare copy of that template build, already claimed for this tenant (tenants.spare_database). */
  | { kind: 'spare'; spare: string; templateDatabase: string }
  /** A live tenant (a staging copy is made on its source's server). */
  | { kind: 'tenant-copy'; source: TenantRow }
  /** A template build on another server, dumped and restored: dedicated servers have no builds of their own. */
  | { kind: 'dedicated-copy'; sourceServerId: string; templateDatabase: string }
  /** An Odoo backup zip (a backup restored into a new tenant, an imported zip): tenants.restore_id names it. */
  | { kind: 'archive'; restoreId: string };

/** Before placement: the tenant as created, and its plan. Placement fills in the server. */
export interface PlacementContext {
  deps: ProvisioningDependencies;
  tenant: TenantRow;
  plan: Plan;
}

/** What every step after placement works with, loaded once per attempt. */
export interface ProvisioningContext {
  deps: ProvisioningDependencies;
  tenant: PlacedTenant;
  plan: Plan;
  ops: DatabaseServerOperations;
  /** The clone step turns a `template` source into `spare` when it claims one. */
  source: CloneSource;
  /** Built once: the serve and login_check steps serve with it, the role and neutralise steps use its credentials. */
  serveSpec: TenantServeSpec;
  admin: {
    login: string;
    password: string;
    /** PBKDF2 (~0.35 s on the thread pool), started when the attempt starts so it overlaps placement and the clone. */
    passwordHash: Promise<string>;
  };
  /** Test-only crash injection inside a step (CLONE_CRASH_POINTS). */
  crashPoint(point: string): void;
  /** This attempt's serving of the tenant (warm-up.ts servedUpstream), reused by the login check. */
  served?: Promise<Upstream> | undefined;
}

/** The database a copy is made from: its filestore is copied too, and its owner hands its objects over. */
export function copiedDatabase(source: Exclude<CloneSource, { kind: 'archive' }>): string {
  return source.kind === 'tenant-copy' ? source.source.database_name : source.templateDatabase;
}

/** The role that owns a fresh copy's objects until the clone step hands them to the tenant role. */
export function copiedOwner(source: CloneSource): string {
  return source.kind === 'tenant-copy' ? source.source.role_name : TEMPLATE_OWNER_ROLE;
}

async function cloneSourceOf(deps: ProvisioningDependencies, tenant: PlacedTenant): Promise<CloneSource> {
  const { templates, servers } = deps;
  if (tenant.restore_id) return { kind: 'archive', restoreId: tenant.restore_id };
  if (tenant.source_tenant_id) {
    const source = await loadTenant(deps.db, tenant.source_tenant_id);
    if (!source) throw new Error('The tenant to duplicate has no database any more.');
    return { kind: 'tenant-copy', source };
  }
  if ((await servers.get(tenant.server_id)).kind === 'dedicated') {
    const sourceServerId = (await templates.readyServers(tenant.template_code))[0];
    if (!sourceServerId) throw new Error(`Template ${tenant.template_code} is ready nowhere to copy from.`);
    return {
      kind: 'dedicated-copy',
      sourceServerId,
      templateDatabase: await templates.readyDatabase(tenant.template_code, sourceServerId),
    };
  }
  const templateDatabase = await templates.readyDatabase(tenant.template_code, tenant.server_id);
  return tenant.spare_database ? { kind: 'spare', spare: tenant.spare_database, templateDatabase } : { kind: 'template', templateDatabase };
}

export async function loadProvisioningContext(
  placement: PlacementContext & { tenant: PlacedTenant },
  admin: { password: string; passwordHash: Promise<string> },
  crashPoint: (point: string) => void,
): Promise<ProvisioningContext> {
  const { deps, tenant, plan } = placement;
  const { passwordHash } = admin;
  const [ops, source, adminUrl] = await Promise.all([
    deps.servers.operations(tenant.server_id),
    cloneSourceOf(deps, tenant),
    deps.servers.adminUrl(tenant.server_id),
  ]);
  return {
    deps,
    tenant,
    plan,
    ops,
    source,
    serveSpec: serveSpecOf(deps, tenant, plan, adminUrl),
    admin: { login: tenant.admin_login, password: admin.password, passwordHash },
    crashPoint,
  };
}
