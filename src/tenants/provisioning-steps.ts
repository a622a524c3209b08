/**
 * The steps of provisioning a tenant, in order; each is idempotent and recorded on the tenant
 * (`provisioning_step`) and its timeline. Declared here, with the tenant, because the tenant's
 * view names them: provisioning/ runs them, the API and the dashboard show them.
 */
export const PROVISIONING_STEPS = [
  'template',
  'placement',
  'role',
  'clone',
  'neutralise',
  'filestore',
  'identity',
  'serve',
  'login_check',
] as const;
export type ProvisioningStep = (typeof PROVISIONING_STEPS)[number];
