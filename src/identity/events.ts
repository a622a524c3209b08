import type { AuditLog } from '../audit/index.js';
import type { PublicUser } from '../auth/index.js';

/** Every identity event goes to the audit log under `identity.*` (docs/operations/identity.md lists them). */
export type IdentityAction =
  | 'identity.linked'
  | 'identity.unlinked'
  | 'identity.signed_up'
  | 'identity.token_refused'
  | 'identity.2fa_enrolled'
  | 'identity.2fa_removed'
  | 'identity.2fa_used'
  | 'identity.2fa_failed'
  | 'identity.recovery_code_used'
  | 'identity.recovery_codes_regenerated';

export interface IdentityEvent {
  action: IdentityAction;
  user?: Pick<PublicUser, 'id' | 'email' | 'accountId'> | undefined;
  outcome?: 'success' | 'failure';
  ip?: string | undefined;
  details?: Record<string, unknown>;
}

export function identityAuditor(audit: AuditLog) {
  return (event: IdentityEvent): Promise<void> =>
    audit.record({
      actorType: event.user ? 'user' : 'anonymous',
      actorUserId: event.user?.id ?? null,
      actorLabel: event.user?.email ?? null,
      accountId: event.user?.accountId ?? null,
      action: event.action,
      targetType: 'user',
      targetId: event.user?.id ?? null,
      outcome: event.outcome ?? 'success',
      ip: event.ip ?? null,
      details: event.details ?? null,
    });
}

export type IdentityAuditor = ReturnType<typeof identityAuditor>;
