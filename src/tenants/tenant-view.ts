import type { TenantRow } from '../db/index.js';
import { stateReasonForCustomer } from './customer-view.js';
import { allowedActions, type TenantState } from './lifecycle.js';
import type { ProvisioningStep } from './provisioning-steps.js';
import type { TenantView } from './views.js';

/**
 * A tenant row as the API shows it to `role`: operators also see where its database lives,
 * customers get the reason behind a state in words meant for them; `previousState` decides what
 * can be undone.
 */
export function tenantView(
  row: TenantRow,
  role: 'customer' | 'operator',
  previousState: TenantState | null,
  urls: { tenantHostName: (name: string) => string; tenantBaseUrl: (name: string) => string },
): TenantView {
  const provisionMs =
    row.provision_started_at && row.provision_finished_at ? row.provision_finished_at.getTime() - row.provision_started_at.getTime() : null;
  const operator = role === 'operator';
  return {
    id: row.id,
    name: row.name,
    hostName: urls.tenantHostName(row.name),
    url: urls.tenantBaseUrl(row.name),
    accountId: row.account_id,
    plan: row.plan_code,
    template: row.template_code,
    state: row.state as TenantState,
    stateReason: operator ? row.state_reason : stateReasonForCustomer(row.state, row.state_reason),
    stateChangedAt: row.state_changed_at.toISOString(),
    ...(operator ? { databaseName: row.database_name, databaseServerId: row.server_id } : {}),
    processStrategy: row.process_strategy,
    odooSeries: row.odoo_series,
    adminEmail: row.admin_email,
    adminLogin: row.admin_login,
    provisioningStep: row.provisioning_step as ProvisioningStep | null,
    jobId: row.job_id,
    duplicateOf: row.source_tenant_id,
    deleteAfter: row.delete_after?.toISOString() ?? null,
    terminatedAt: row.terminated_at?.toISOString() ?? null,
    provisionSeconds: provisionMs === null ? null : provisionMs / 1000,
    createdAt: row.created_at.toISOString(),
    allowedActions: allowedActions(row.state as TenantState, role, {
      now: new Date(),
      createdAt: row.created_at,
      deletionScheduledAt: row.state === 'scheduled_for_deletion' ? row.state_changed_at : null,
      terminatedAt: row.terminated_at,
      previousState,
    }),
  };
}
