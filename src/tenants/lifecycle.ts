/**
 * The tenant lifecycle: every state a tenant can be in, everything that can happen to it, and
 * the one table that says which happening moves which state where. Pure: no clock, no I/O. The
 * caller passes `now` and the timestamps the time-bound rules need, so the rules are tested at
 * their exact edges and every replica decides the same way.
 *
 * Two kinds of actions share the table:
 * - requests, made by a person (customer or operator) through the API/CLI or by the platform's
 *   own automation (billing, schedules): start, stop, suspend, ...
 * - events, reported only by the platform's jobs when long work ends: provisioning_succeeded,
 *   start_succeeded, operation_failed, the purge timers firing, ...
 * Keeping both in one table means one place answers "can this tenant go from X to Y?".
 */

import { ConflictError } from '../errors/index.js';

export const TENANT_STATES = [
  'pending_payment',
  'provisioning',
  'starting',
  'running',
  'stopping',
  'stopped',
  /** A backup is being restored over it: the gateway shows the maintenance page. */
  'restoring',
  /** It is being moved to another database server or process strategy: the maintenance page too. */
  'migrating',
  'suspended',
  'scheduled_for_deletion',
  'terminated',
  'deleted',
  'error',
] as const;
export type TenantState = (typeof TENANT_STATES)[number];

/** Actions a customer or an operator may request (subject to `ACTION_ROLES`). */
export const TENANT_REQUESTS = [
  'create',
  'start',
  'stop',
  'restart',
  'suspend',
  'resume',
  'schedule_delete',
  'cancel_delete',
  'force_delete',
  'reactivate',
  'duplicate',
  'change_plan',
  'retry',
  'terminate',
  'restore',
  'migrate',
] as const;
export type TenantRequest = (typeof TENANT_REQUESTS)[number];

/** Completion and timer events: only the platform's own jobs report these. */
export const TENANT_EVENTS = [
  'payment_received',
  'payment_window_expired',
  'provisioning_succeeded',
  'start_succeeded',
  'stop_succeeded',
  'operation_failed',
  'deletion_grace_expired',
  'retention_expired',
  'restore_finished',
  'migration_finished',
] as const;
export type TenantEvent = (typeof TENANT_EVENTS)[number];

export type TenantAction = TenantRequest | TenantEvent;
export const TENANT_ACTIONS: readonly TenantAction[] = [...TENANT_REQUESTS, ...TENANT_EVENTS];

/** Who asks. `system` is the platform itself (jobs, billing engine, schedules). */
export type ActorRole = 'customer' | 'operator' | 'system';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A tenant created as pending payment is deleted if still unpaid after this long. */
export const PAYMENT_WINDOW_MS = 24 * HOUR_MS;
/** Soft delete: how long `scheduled_for_deletion` can still be cancelled. */
export const DELETION_GRACE_MS = 12 * HOUR_MS;
/** How long a terminated tenant's data is kept, and so how long it can be reactivated. */
export const TERMINATED_RETENTION_MS = 30 * DAY_MS;

/**
 * What the time-bound and history-bound rules need to know. Every field is optional so that
 * callers pass only what they have; a rule that needs a missing field refuses with
 * `missing_context` (a bug in the caller, not a user error).
 */
export interface TransitionContext {
  now?: Date;
  /** When the tenant was created: starts the pending-payment window. */
  createdAt?: Date | null;
  /** When `schedule_delete` was accepted: starts the 12 h grace period. */
  deletionScheduledAt?: Date | null;
  /** When the tenant entered `terminated`: starts the 30-day retention. */
  terminatedAt?: Date | null;
  /**
   * The state the tenant was in before its current one (from the transition log). Decides
   * where `cancel_delete` returns to and what `retry` retries.
   */
  previousState?: TenantState | null;
}

export type TransitionRefusalCode = 'not_allowed_in_state' | 'outside_time_window' | 'missing_context';

export type TransitionResult =
  | { ok: true; from: TenantState; action: TenantAction; next: TenantState }
  | {
      ok: false;
      /** The tenant's current state, so the API's 409 can name it. */
      state: TenantState;
      action: TenantAction;
      code: TransitionRefusalCode;
      reason: string;
    };

/** A rule either names the next state or works it out from the context (or refuses). */
type Refusal = { code: TransitionRefusalCode; reason: string };
type Resolution = { next: TenantState } | Refusal;
type Rule = TenantState | ((context: TransitionContext) => Resolution);

// ----- time-bound and history-bound rules ---------------------------------------------------

/**
 * Windows are half-open: an action bound to "within N" is allowed while now < start + N and the
 * matching purge is due from now >= start + N. So at every instant exactly one of the two is
 * allowed, and a late purge job and a last-second reactivation cannot both win.
 */
function windowIsOpen(now: Date, start: Date, lengthMs: number): boolean {
  return now.getTime() < start.getTime() + lengthMs;
}

function requireTimes(
  context: TransitionContext,
  startField: 'createdAt' | 'deletionScheduledAt' | 'terminatedAt',
): { now: Date; start: Date } | Refusal {
  const now = context.now;
  const start = context[startField];
  if (!now) return { code: 'missing_context', reason: 'This action needs the current time (context.now).' };
  if (!start) return { code: 'missing_context', reason: `This action needs context.${startField}.` };
  return { now, start };
}

function whileWindowOpen(
  startField: 'createdAt' | 'deletionScheduledAt' | 'terminatedAt',
  lengthMs: number,
  what: string,
  next: TenantState | ((context: TransitionContext) => Resolution),
): (context: TransitionContext) => Resolution {
  return (context) => {
    const times = requireTimes(context, startField);
    if ('code' in times) return times;
    if (!windowIsOpen(times.now, times.start, lengthMs)) {
      const closedAt = new Date(times.start.getTime() + lengthMs).toISOString();
      return { code: 'outside_time_window', reason: `${what} ended at ${closedAt}.` };
    }
    return typeof next === 'string' ? { next } : next(context);
  };
}

function onceWindowClosed(
  startField: 'createdAt' | 'deletionScheduledAt' | 'terminatedAt',
  lengthMs: number,
  what: string,
  next: TenantState,
): (context: TransitionContext) => Resolution {
  return (context) => {
    const times = requireTimes(context, startField);
    if ('code' in times) return times;
    if (windowIsOpen(times.now, times.start, lengthMs)) {
      const closesAt = new Date(times.start.getTime() + lengthMs).toISOString();
      return { code: 'outside_time_window', reason: `${what} runs until ${closesAt}.` };
    }
    return { next };
  };
}

/**
 * Cancelling a soft delete gives the tenant back what it had. Scheduling deletion stopped a
 * running tenant, so a tenant that was running is started again; a suspended one stays
 * suspended (cancelling must never lift a billing suspension).
 */
const STATE_AFTER_CANCELLED_DELETION: Partial<Record<TenantState, TenantState>> = {
  running: 'starting',
  stopped: 'stopped',
  suspended: 'suspended',
  error: 'error',
};

function returnFromScheduledDeletion(context: TransitionContext): Resolution {
  const previous = context.previousState;
  if (!previous) return { code: 'missing_context', reason: 'cancel_delete needs context.previousState.' };
  const next = STATE_AFTER_CANCELLED_DELETION[previous];
  if (!next) {
    return { code: 'missing_context', reason: `cancel_delete cannot return to "${previous}".` };
  }
  return { next };
}

/** Retry resumes the long operation that failed; a crash while running is retried by starting. */
const STATE_RETRIED_AFTER_FAILURE: Partial<Record<TenantState, TenantState>> = {
  provisioning: 'provisioning',
  starting: 'starting',
  stopping: 'stopping',
  running: 'starting',
};

function retryFailedOperation(context: TransitionContext): Resolution {
  const previous = context.previousState;
  if (!previous) return { code: 'missing_context', reason: 'retry needs context.previousState.' };
  const next = STATE_RETRIED_AFTER_FAILURE[previous];
  if (!next) return { code: 'missing_context', reason: `retry does not know how to retry "${previous}".` };
  return { next };
}

/**
 * A restore in place ends (restored, or refused before anything was swapped) where the tenant
 * was: a running tenant is started again, a stopped one stays stopped.
 */
const STATE_AFTER_RESTORE: Partial<Record<TenantState, TenantState>> = { running: 'starting', stopped: 'stopped' };

function returnFromRestore(context: TransitionContext): Resolution {
  const previous = context.previousState;
  if (!previous) return { code: 'missing_context', reason: 'restore_finished needs context.previousState.' };
  return { next: STATE_AFTER_RESTORE[previous] ?? 'starting' };
}

// ----- the table ----------------------------------------------------------------------------

/**
 * THE transition table. A missing cell means "refused in this state". Cells naming the same
 * state as their row (duplicate, change_plan) are accepted actions that leave the tenant's
 * state alone: the work happens elsewhere (a new tenant, new limits).
 */
export const TRANSITION_TABLE: Readonly<Record<TenantState, Readonly<Partial<Record<TenantAction, Rule>>>>> = {
  pending_payment: {
    payment_received: 'provisioning',
    payment_window_expired: onceWindowClosed('createdAt', PAYMENT_WINDOW_MS, 'The payment window', 'deleted'),
    change_plan: 'pending_payment',
    // Nothing was provisioned yet, so there is nothing for a soft delete to keep.
    schedule_delete: 'deleted',
    force_delete: 'deleted',
  },
  provisioning: {
    provisioning_succeeded: 'starting',
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  starting: {
    start_succeeded: 'running',
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  running: {
    stop: 'stopping',
    restart: 'starting',
    suspend: 'suspended',
    schedule_delete: 'scheduled_for_deletion',
    duplicate: 'running',
    change_plan: 'running',
    terminate: 'terminated',
    restore: 'restoring',
    migrate: 'migrating',
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  stopping: {
    stop_succeeded: 'stopped',
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  stopped: {
    start: 'starting',
    suspend: 'suspended',
    schedule_delete: 'scheduled_for_deletion',
    duplicate: 'stopped',
    change_plan: 'stopped',
    terminate: 'terminated',
    restore: 'restoring',
    migrate: 'migrating',
    force_delete: 'deleted',
  },
  restoring: {
    restore_finished: returnFromRestore,
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  // A migration ends (moved, or rolled back to the source) where the tenant was, like a restore.
  migrating: {
    migration_finished: returnFromRestore,
    operation_failed: 'error',
    force_delete: 'deleted',
  },
  suspended: {
    resume: 'starting',
    schedule_delete: 'scheduled_for_deletion',
    change_plan: 'suspended',
    terminate: 'terminated',
    force_delete: 'deleted',
  },
  scheduled_for_deletion: {
    cancel_delete: whileWindowOpen(
      'deletionScheduledAt',
      DELETION_GRACE_MS,
      'The 12-hour cancellation period',
      returnFromScheduledDeletion,
    ),
    deletion_grace_expired: onceWindowClosed('deletionScheduledAt', DELETION_GRACE_MS, 'The 12-hour cancellation period', 'terminated'),
    force_delete: 'deleted',
  },
  terminated: {
    reactivate: whileWindowOpen('terminatedAt', TERMINATED_RETENTION_MS, 'The 30-day reactivation period', 'starting'),
    retention_expired: onceWindowClosed('terminatedAt', TERMINATED_RETENTION_MS, 'The 30-day retention period', 'deleted'),
    force_delete: 'deleted',
  },
  deleted: {},
  error: {
    retry: retryFailedOperation,
    schedule_delete: 'scheduled_for_deletion',
    terminate: 'terminated',
    force_delete: 'deleted',
  },
};

// ----- who may ask for what -----------------------------------------------------------------

/**
 * Actions only an operator (or the platform itself) may request. Suspend/resume/terminate are
 * billing and limit decisions: a customer who could resume would bypass dunning.
 */
export const OPERATOR_ONLY_ACTIONS: ReadonlySet<TenantAction> = new Set<TenantAction>([
  'suspend',
  'resume',
  'force_delete',
  'terminate',
  // Moving a tenant between servers is an operator's capacity decision (customers change plans).
  'migrate',
]);

const EVENT_SET: ReadonlySet<TenantAction> = new Set<TenantAction>(TENANT_EVENTS);

export function isTenantAction(value: string): value is TenantAction {
  return (TENANT_ACTIONS as readonly string[]).includes(value);
}

/** True when `role` may request `action` at all (the state table decides whether now). */
export function mayRequest(role: ActorRole, action: TenantAction): boolean {
  if (role === 'system') return true;
  if (EVENT_SET.has(action)) return false;
  if (role === 'operator') return true;
  return !OPERATOR_ONLY_ACTIONS.has(action);
}

// ----- the functions everyone calls -----------------------------------------------------------

/** The state a new tenant starts in: unpaid plans wait for payment, others provision at once. */
export function initialTenantState(options: { awaitingPayment: boolean }): TenantState {
  return options.awaitingPayment ? 'pending_payment' : 'provisioning';
}

const READABLE_STATE: Record<TenantState, string> = {
  pending_payment: 'pending payment',
  provisioning: 'provisioning',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  restoring: 'being restored',
  migrating: 'being moved to another server',
  suspended: 'suspended',
  scheduled_for_deletion: 'scheduled for deletion',
  terminated: 'terminated',
  deleted: 'deleted',
  error: 'in error',
};

/** Decide what `action` does to a tenant in `state`. Never throws. */
export function transition(state: TenantState, action: TenantAction, context: TransitionContext = {}): TransitionResult {
  const rule = TRANSITION_TABLE[state][action];
  if (rule === undefined) {
    const reason =
      action === 'create'
        ? `The tenant already exists (it is ${READABLE_STATE[state]}).`
        : `Cannot ${action.replaceAll('_', ' ')} a tenant that is ${READABLE_STATE[state]}.`;
    return { ok: false, state, action, code: 'not_allowed_in_state', reason };
  }
  const resolution: Resolution = typeof rule === 'string' ? { next: rule } : rule(context);
  if ('next' in resolution) return { ok: true, from: state, action, next: resolution.next };
  return { ok: false, state, action, code: resolution.code, reason: resolution.reason };
}

/**
 * The actions `role` can take on a tenant in `state` right now: what the UI shows as buttons.
 * Events are never listed (no role but `system` may send them, and the UI never does).
 */
export function allowedActions(state: TenantState, role: Exclude<ActorRole, 'system'>, context: TransitionContext = {}): TenantRequest[] {
  return TENANT_REQUESTS.filter((action) => mayRequest(role, action) && transition(state, action, context).ok);
}

/**
 * `transition` for use-case code that wants an exception: a refusal becomes a ConflictError
 * (HTTP 409) naming the current state; missing context is a bug in the caller, so a plain Error.
 */
export function requireTransition(state: TenantState, action: TenantAction, context: TransitionContext = {}): TenantState {
  const result = transition(state, action, context);
  if (result.ok) return result.next;
  if (result.code === 'missing_context') throw new Error(`Tenant lifecycle: ${result.reason}`);
  throw new ConflictError(result.reason, {
    details: { state: result.state, action: result.action, code: result.code },
  });
}
