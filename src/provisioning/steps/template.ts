import { recordTenantEvent } from '../../tenants/index.js';
import type { PlacementContext } from '../context.js';
import type { Step } from '../runner.js';

/** How often the wait looks at the build again; a build takes ~20 s with a real Odoo. */
const POLL_MS = 1_000;
/** Below the tenant-ops job timeout (30 min): a build still running then is stuck, and says so. */
const MAX_WAIT_MS = 25 * 60_000;

/**
 * Waits for the tenant's template while its build is running (the first minutes after install):
 * the tenant was accepted then, and waits in `provisioning` with this step on its timeline. Done
 * at once when a usable build exists; fails saying why when the build failed or nothing builds
 * it. A staging copy is cloned from its source tenant and needs no template. Waiting holds a
 * tenant-ops worker slot; it is a first-minutes case, bounded by MAX_WAIT_MS.
 */
export const templateStep: Step<PlacementContext, 'template'> = {
  name: 'template',
  appliesTo: ({ tenant }) => !tenant.source_tenant_id,
  async run({ deps, tenant }) {
    const code = tenant.template_code;
    const deadline = Date.now() + MAX_WAIT_MS;
    let told = false;
    for (;;) {
      const template = await deps.templates.get(code);
      if (template.available) return;
      const building = template.builds.filter((build) => build.status === 'building');
      if (building.length === 0) {
        const errors = template.builds.map((build) => build.error).filter((error): error is string => Boolean(error));
        throw new Error(
          `Template ${code} could not be built${errors.length > 0 ? `: ${errors.join('; ')}` : ' (no build of it is running)'}. ` +
            `An operator must build it (saasctl templates build ${code}), then retry this tenant.`,
        );
      }
      if (!told) {
        await recordTenantEvent(deps.db, tenant.id, {
          type: 'info',
          message: `waiting for template ${code}: its build is running on ${building.length} database server(s)`,
        });
        told = true;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Template ${code} has been building for more than ${MAX_WAIT_MS / 60_000} minutes; an operator should look at its build.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  },
};
