/** Shapes of the platform API (see /api/v1/openapi.json). */

export type Role = 'customer' | 'operator';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  accountId: string | null;
  emailVerified: boolean;
  createdAt: string;
}

export interface Me {
  user: User;
  via: string;
}

export interface PlanPrice {
  interval: 'month' | 'year';
  amountCents: number;
  currency: string;
}

export interface Plan {
  code: string;
  name: string;
  description: string;
  /** maxTenantsPerAccount: how many tenants one account may hold on the plan (null: no limit). */
  limits: { cpu: number; memoryMiB: number; storageGiB: number; odooUsers: number; maxTenantsPerAccount: number | null };
  placement: { databaseStrategy: 'shared' | 'dedicated'; processStrategy: 'pool' | 'dedicated'; replicas: number; limitPolicy: string };
  prices: PlanPrice[];
  trialDays: number;
  sortOrder: number;
  archived: boolean;
  free: boolean;
}

export const TENANT_STATES = [
  'pending_payment',
  'provisioning',
  'starting',
  'running',
  'stopping',
  'stopped',
  'suspended',
  'scheduled_for_deletion',
  'terminated',
  'deleted',
  'error',
] as const;
export type TenantState = (typeof TENANT_STATES)[number];

/** States the platform is still working on: lists refresh quickly while a tenant is in one. */
export const TRANSITIONAL_STATES: ReadonlySet<string> = new Set(['provisioning', 'starting', 'stopping', 'pending_payment']);

export interface Tenant {
  id: string;
  name: string;
  hostName: string;
  url: string;
  accountId: string;
  plan: string;
  template: string;
  state: TenantState;
  stateReason: string | null;
  stateChangedAt: string;
  /** Operators only. */
  databaseName?: string;
  /** Operators only. */
  databaseServerId?: string | null;
  processStrategy: 'pool' | 'dedicated';
  adminEmail: string;
  adminLogin: string;
  provisioningStep: string | null;
  jobId: string | null;
  duplicateOf: string | null;
  deleteAfter: string | null;
  terminatedAt: string | null;
  provisionSeconds: number | null;
  createdAt: string;
  allowedActions: string[];
}

export interface TenantEvent {
  id: number;
  at: string;
  type: string;
  fromState: string | null;
  toState: string | null;
  step: string | null;
  message: string | null;
}

export interface Accepted {
  tenant: Tenant;
  jobId: string | null;
}

export interface NameCheck {
  name: string;
  available: boolean;
  reason?: string;
}

export interface TemplateBuild {
  serverId: string;
  status: 'building' | 'ready' | 'failed';
  databaseName: string;
  odooVersion: string | null;
  error: string | null;
  jobId: string | null;
  startedAt: string;
  finishedAt: string | null;
}

/** What every user sees of a template. */
export interface Template {
  code: string;
  name: string;
  description: string;
  /** A tenant can be created from it now. */
  available: boolean;
}

/** What operators see of a template: also its modules and its builds per database server. */
export interface OperatorTemplate extends Template {
  modules: string[];
  sortOrder: number;
  builds: TemplateBuild[];
}

/** Tenants the account holds on a plan, against the plan's limit (null: no limit). */
export interface TenantQuota {
  plan: string;
  used: number;
  limit: number | null;
}

export interface DatabaseServer {
  id: string;
  name: string;
  kind: 'shared' | 'dedicated';
  host: string;
  port: number;
  capacity: number;
  status: 'active' | 'draining' | 'disabled';
  isDefault: boolean;
  managed: boolean;
  tenantCount: number;
  createdAt: string;
}

export interface Job {
  id: string;
  queue: string;
  state: string;
  retryCount: number;
  createdOn: string;
  startedOn: string | null;
  completedOn: string | null;
  tenant: string | null;
  error?: string | null;
}

export interface AccountSummary {
  id: string;
  name: string;
  createdAt: string;
  userCount: number;
}

export interface AccountDetail {
  id: string;
  name: string;
  createdAt: string;
  users: User[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actorType: string;
  actorUserId: string | null;
  actorLabel: string | null;
  accountId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: 'success' | 'failure';
  statusCode: number | null;
  requestId: string | null;
  ip: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  key?: string;
}
