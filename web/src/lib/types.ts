/**
 * Shapes of the platform API, by the names the pages use. Nothing is declared here: every type
 * comes from the OpenAPI document (/api/v1/openapi.json), through the types the build generates
 * from it (api-types.generated.ts, scripts/generate-api-types.ts). A field the API changes shows
 * up here at the next build, and the web typecheck names every page that must follow.
 */
import { type components, provisioningStepValues, tenantStateValues } from './api-types.generated';

type Schemas = components['schemas'];

export type Backup = Schemas['Backup'];
export type OdooInstallation = Schemas['OdooInstallation'];
export type PlatformReadiness = Schemas['PlatformReadiness'];
export type Restore = Schemas['Restore'];
export type ImportUpload = Schemas['ImportUpload'];
export type User = Schemas['User'];
export type Role = User['role'];
export type Me = Schemas['Me'];

export type Plan = Schemas['Plan'];
export type PlanPrice = Plan['prices'][number];

export type TenantState = Schemas['TenantState'];
export const TENANT_STATES: readonly TenantState[] = tenantStateValues;

/** States the platform is still working on: lists refresh quickly while a tenant is in one. */
export const TRANSITIONAL_STATES: ReadonlySet<TenantState> = new Set<TenantState>([
  'provisioning',
  'starting',
  'stopping',
  'restoring',
  'pending_payment',
]);

export type ProvisioningStep = Schemas['ProvisioningStep'];
/** The provisioning job's steps, in order. */
export const PROVISIONING_STEPS: readonly ProvisioningStep[] = provisioningStepValues;

/** A lifecycle request (start, stop, ...): the tenant's `allowedActions` lists those the caller may make now. */
export type TenantRequest = Schemas['TenantRequest'];

export type CustomerTenant = Schemas['CustomerTenant'];
export type OperatorTenant = Schemas['OperatorTenant'];
/** A tenant as the caller gets it: the operator-only fields (database, server) only for operators. */
export type Tenant = CustomerTenant & Partial<Omit<OperatorTenant, keyof CustomerTenant>>;

export type TenantEvent = Schemas['TenantEvent'];
export type TenantUsage = Schemas['TenantUsage'];
export type TenantUsageSummary = Schemas['TenantUsageSummary'];
export type LimitStanding = Schemas['LimitStanding'];
export type UsagePoint = Schemas['UsagePoint'];
export type TenantQuota = Schemas['TenantQuota'];
export type TenantHibernation = Schemas['TenantHibernation'];
export type NameCheck = Schemas['NameCheck'];

/** The answer to a lifecycle request (202): the tenant as it is now and the job carrying it out. */
export type Accepted = Omit<Schemas['Accepted'], 'tenant'> & { tenant: Tenant };

/** What every user sees of a template. */
export type Template = Schemas['Template'];
/** What operators see of a template: also its modules and its builds per database server. */
export type OperatorTemplate = Schemas['OperatorTemplate'];
export type TemplateBuild = Schemas['TemplateBuild'];

export type DatabaseServer = Schemas['DatabaseServer'];
export type PoolReport = Schemas['PoolReport'];
export type Job = Schemas['JobListItem'];
export type TenantJob = Schemas['TenantJob'];
export type JobLog = Schemas['JobLog'];
export type AccountSummary = Schemas['AccountSummary'];
export type AccountDetail = Schemas['AccountDetail'];
export type AuditEntry = Schemas['AuditEntry'];
/** An API key as listed; `key` (the secret) only in the answer that created it. */
export type ApiKey = Schemas['ApiKey'] & Partial<Pick<Schemas['NewApiKey'], 'key'>>;

export type LoginAnswer = Schemas['LoginAnswer'];
export type LoginChallenge = Schemas['LoginChallenge'];
export type LoginTokens = Schemas['LoginTokens'];
export type TotpEnrolment = Schemas['TotpEnrolment'];
export type RecoveryCodes = Schemas['RecoveryCodes'];
export type TwoFactorStatus = Schemas['TwoFactorStatus'];
export type LinkedIdentity = Schemas['LinkedIdentity'];
export type SignInProvider = Schemas['SignInProvider'];
export type Subscription = Schemas['Subscription'];
export type SubscriptionUsage = Schemas['SubscriptionUsage'];
export type SubscriptionState = Schemas['SubscriptionState'];
export type Invoice = Schemas['Invoice'];
export type BillingOverview = Schemas['BillingOverview'];
export type CreditNote = Schemas['CreditNote'];
export type BillingSettings = Schemas['BillingSettings'];
export type PlanChangePreview = Schemas['PlanChangePreview'];
/** The card saved for renewals (no secret in it) and whether the gateway has a page to manage it. */
export type PaymentMethod = Schemas['PaymentMethod'];
/** A custom domain of an instance, with the DNS records to set and its verification state. */
export type CustomDomain = Schemas['CustomDomain'];
/** A webhook endpoint as listed; `secret` only in the answer that created it. */
export type WebhookEndpoint = Schemas['WebhookEndpoint'] & Partial<Pick<Schemas['NewWebhookEndpoint'], 'secret'>>;
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type Notification = Schemas['Notification'];
/** A move of a tenant to another database server or process strategy (a plan change, a drain). */
export type Migration = Schemas['Migration'];
/** What a migration or plan change would do (a dry run). */
export type MigrationPlan = Schemas['MigrationPlan'];
export type AcceptedMigration = Schemas['AcceptedMigration'];
