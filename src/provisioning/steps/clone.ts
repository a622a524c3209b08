import { filestorePath } from '../../odoo/index.js';
import type { DatabaseOwnership, DatabaseServerOperations } from '../../postgres/index.js';
import { TEMPLATE_OWNER_ROLE } from '../../templates/index.js';
import { copiedOwner, type ProvisioningContext, TENANT_CONNECTION_LIMIT } from '../context.js';
import type { Step } from '../runner.js';
import { copyTemplateToServer } from '../template-copy.js';
import { roleStep } from './role.js';

/** Points inside the clone step where a crash leaves a half-made database (crash-safety tests). */
export const CLONE_CRASH_POINTS = ['clone:created', 'clone:claimed', 'clone:renamed'] as const;

/**
 * Makes the tenant's database. Rerun after a crash, it finishes whatever is left rather than
 * trusting that the database exists: a copy whose tables still belong to the template owner
 * exists too. Done means its end state holds (cloneEndStateProblems).
 */
export const cloneStep: Step<ProvisioningContext, 'clone'> = {
  name: 'clone',
  run: (context) =>
    // A dozen small checks and changes: one kept connection each to the server and the database.
    context.ops.session(async (ops) => {
      const { tenant, deps } = context;
      if (context.source.kind !== 'spare' && !(await ops.databaseExists(tenant.database_name))) await copy(context, ops);
      const { source } = context;
      if (source.kind === 'spare') {
        // The role step made the tenant role already: restoreRole runs it again on the renamed one.
        await deps.spares.adopt(
          ops,
          {
            spare: source.spare,
            database: tenant.database_name,
            role: tenant.role_name,
            restoreRole: () => roleStep.run({ ...context, ops }),
          },
          () => context.crashPoint('clone:renamed'),
        );
      }
      // A copy's objects belong to the owner of what it was copied from until handed over.
      await ops.reassignOwned(tenant.database_name, copiedOwner(source), tenant.role_name);
      await ops.restrictDatabase(tenant.database_name, tenant.role_name, TENANT_CONNECTION_LIMIT);
    }),
  endStateProblems: ({ ops, tenant, source }) =>
    ops.session(async (ops) =>
      cloneEndStateProblems(await ops.inspectDatabase(tenant.database_name, tenant.role_name), {
        role: tenant.role_name,
        handedOverFrom: source.kind === 'spare' ? [copiedOwner(source), source.spare] : [copiedOwner(source)],
        connectionLimit: TENANT_CONNECTION_LIMIT,
      }),
    ),
};

/** Copies the source to the tenant's database name, or claims a spare copy (then the source becomes that spare). */
async function copy(context: ProvisioningContext, ops: DatabaseServerOperations): Promise<void> {
  const { deps, tenant, source } = context;
  switch (source.kind) {
    case 'tenant-copy':
      // PostgreSQL needs the source unconnected for the copy: its Odoo reconnects a moment later.
      await ops.cloneDatabase({ template: source.source.database_name, name: tenant.database_name, owner: tenant.role_name });
      return;
    case 'dedicated-copy':
      await copyTemplateToServer({
        source: await deps.servers.operations(source.sourceServerId),
        sourceAdminUrl: await deps.servers.adminUrl(source.sourceServerId),
        templateDatabase: source.templateDatabase,
        scratchName: `scratch_${tenant.database_name}`.slice(0, 63),
        target: ops,
        targetAdminUrl: await deps.servers.adminUrl(tenant.server_id),
        targetDatabase: tenant.database_name,
        owner: tenant.role_name,
        templateOwner: TEMPLATE_OWNER_ROLE,
      });
      return;
    case 'template': {
      const spare = await deps.spares.claim({ tenantId: tenant.id, serverId: tenant.server_id, templateDatabase: source.templateDatabase });
      if (spare) context.source = { kind: 'spare', spare, templateDatabase: source.templateDatabase };
      else {
        await ops.cloneDatabase({ template: source.templateDatabase, name: tenant.database_name, owner: tenant.role_name });
        // None was left: make the first ones in the background now. After a claim, the next one
        // is asked for when the tenant is done (provision.ts): its copy would compete with this
        // provisioning for the same disk and cores.
        await deps.spares.requestRefill(tenant.server_id);
      }
      context.crashPoint(spare ? 'clone:claimed' : 'clone:created');
      return;
    }
    case 'spare':
      return; // claimed already: the clone step adopts it
    case 'archive': {
      if (!deps.archives) throw new Error('Restores are not available in this process.');
      await deps.archives.load({
        restoreId: source.restoreId,
        ops,
        adminUrl: await deps.servers.adminUrl(tenant.server_id),
        database: tenant.database_name,
        role: tenant.role_name,
        filestoreDirectory: filestorePath(deps.odooDataDir, tenant.database_name),
      });
      return;
    }
  }
}

/**
 * What a finished clone step looks like, so a step retried after a crash can tell a finished
 * database from one that merely exists (e.g. copied, but its tables still the template owner's).
 * Returns what is wrong; empty when the step is complete.
 */
export function cloneEndStateProblems(
  state: DatabaseOwnership | undefined,
  expected: { role: string; handedOverFrom: string[]; connectionLimit: number },
): string[] {
  if (!state) return ['the database does not exist'];
  const problems: string[] = [];
  if (!state.ownerActsAsRole) problems.push(`the database belongs to ${state.owner}, not to ${expected.role}`);
  const leftOver = state.objectOwners.filter((owner) => expected.handedOverFrom.includes(owner));
  if (leftOver.length > 0) problems.push(`objects still belong to ${leftOver.join(', ')}`);
  if (state.connectionLimit !== expected.connectionLimit)
    problems.push(`connection limit is ${state.connectionLimit}, not ${expected.connectionLimit}`);
  return problems;
}
