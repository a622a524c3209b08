import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors/index.js';
import {
  allowedActions,
  initialTenantState,
  mayRequest,
  requireTransition,
  TENANT_ACTIONS,
  TENANT_STATES,
  type TenantAction,
  type TenantState,
  type TransitionContext,
  transition,
} from '../../src/tenants/index.js';

/*
 * The expected lifecycle, written out by hand from PRODUCT.md capability 5 (not derived from the
 * implementation). Every state x action cell is one of:
 *   '-'      refused in this state, whatever the context
 *   a state  allowed without any context, leading there
 *   'ctx'    allowed or refused depending on time / history: covered by the tests further down
 */
type Expected = TenantState | '-' | 'ctx';

const STATES: TenantState[] = [
  'pending_payment',
  'provisioning',
  'starting',
  'running',
  'stopping',
  'stopped',
  'restoring',
  'migrating',
  'suspended',
  'scheduled_for_deletion',
  'terminated',
  'deleted',
  'error',
];

const ACTIONS: TenantAction[] = [
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
];

// Abbreviations only to keep the grid readable.
const PP = 'pending_payment';
const PR = 'provisioning';
const SG = 'starting';
const RU = 'running';
const SP = 'stopping';
const ST = 'stopped';
const SU = 'suspended';
const SD = 'scheduled_for_deletion';
const TE = 'terminated';
const DE = 'deleted';
const ER = 'error';
const RS = 'restoring';
const MG = 'migrating';

// biome-ignore format: the grid is the point
const EXPECTED: Record<TenantState, Record<TenantAction, Expected>> = {
  //                 create start stop restart suspend resume sched_del cancel_del force_del reactivate duplicate change_plan retry terminate restore migrate | paid  pay_expired provisioned started stopped failed grace_expired retention_expired restore_finished migration_finished
  pending_payment: row('-', '-', '-', '-', '-', '-', DE, '-', DE, '-', '-', PP, '-', '-', '-', '-', PR, 'ctx', '-', '-', '-', '-', '-', '-', '-', '-'),
  provisioning:    row('-', '-', '-', '-', '-', '-', '-', '-', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', SG, '-', '-', ER, '-', '-', '-', '-'),
  starting:        row('-', '-', '-', '-', '-', '-', '-', '-', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', RU, '-', ER, '-', '-', '-', '-'),
  running:         row('-', '-', SP, SG, SU, '-', SD, '-', DE, '-', RU, RU, '-', TE, RS, MG, '-', '-', '-', '-', '-', ER, '-', '-', '-', '-'),
  stopping:        row('-', '-', '-', '-', '-', '-', '-', '-', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', ST, ER, '-', '-', '-', '-'),
  stopped:         row('-', SG, '-', '-', SU, '-', SD, '-', DE, '-', ST, ST, '-', TE, RS, MG, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'),
  suspended:       row('-', '-', '-', '-', '-', SG, SD, '-', DE, '-', '-', SU, '-', TE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'),
  scheduled_for_deletion:
                   row('-', '-', '-', '-', '-', '-', '-', 'ctx', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', 'ctx', '-', '-', '-'),
  terminated:      row('-', '-', '-', '-', '-', '-', '-', '-', DE, 'ctx', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', 'ctx', '-', '-'),
  deleted:         row('-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'),
  restoring:       row('-', '-', '-', '-', '-', '-', '-', '-', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', ER, '-', '-', 'ctx', '-'),
  migrating:       row('-', '-', '-', '-', '-', '-', '-', '-', DE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', ER, '-', '-', '-', 'ctx'),
  error:           row('-', '-', '-', '-', '-', '-', SD, '-', DE, '-', '-', '-', 'ctx', TE, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'),
};

function row(...cells: Expected[]): Record<TenantAction, Expected> {
  if (cells.length !== ACTIONS.length) throw new Error(`row has ${cells.length} cells, expected ${ACTIONS.length}`);
  return Object.fromEntries(ACTIONS.map((action, i) => [action, cells[i]])) as Record<TenantAction, Expected>;
}

const T0 = new Date('2026-03-01T00:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number): Date => new Date(T0.getTime() + ms);

/** Contexts that would satisfy or break every time/history rule: a refused cell must stay refused under all. */
const PROBE_CONTEXTS: TransitionContext[] = [
  {},
  { now: T0, createdAt: T0, deletionScheduledAt: T0, terminatedAt: T0, previousState: 'running' },
  { now: at(40 * DAY), createdAt: T0, deletionScheduledAt: T0, terminatedAt: T0, previousState: 'stopped' },
  { now: at(1 * HOUR), createdAt: T0, deletionScheduledAt: T0, terminatedAt: T0, previousState: 'provisioning' },
];

describe('tenant lifecycle: the complete state x action table', () => {
  it('knows exactly the states and actions this test expects', () => {
    expect([...TENANT_STATES].sort()).toEqual([...STATES].sort());
    expect([...TENANT_ACTIONS].sort()).toEqual([...ACTIONS].sort());
  });

  for (const state of STATES) {
    for (const action of ACTIONS) {
      const expected = EXPECTED[state][action];
      if (expected === 'ctx') continue;
      if (expected === '-') {
        it(`${state} x ${action}: refused, naming the state`, () => {
          for (const context of PROBE_CONTEXTS) {
            const result = transition(state, action, context);
            expect(result).toMatchObject({ ok: false, state, action, code: 'not_allowed_in_state' });
            if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
          }
        });
      } else {
        it(`${state} x ${action}: -> ${expected}`, () => {
          for (const context of PROBE_CONTEXTS) {
            expect(transition(state, action, context)).toEqual({ ok: true, from: state, action, next: expected });
          }
        });
      }
    }
  }

  it('names the current state in refusals in words', () => {
    const result = transition('scheduled_for_deletion', 'start');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('Cannot start a tenant that is scheduled for deletion.');
    const create = transition('running', 'create');
    if (!create.ok) expect(create.reason).toContain('already exists');
  });
});

describe('tenant lifecycle: creation', () => {
  it('starts unpaid tenants in pending_payment and others in provisioning', () => {
    expect(initialTenantState({ awaitingPayment: true })).toBe('pending_payment');
    expect(initialTenantState({ awaitingPayment: false })).toBe('provisioning');
  });
});

describe('tenant lifecycle: reactivation within 30 days of termination', () => {
  const terminatedAt = T0;
  const reactivate = (now: Date) => transition('terminated', 'reactivate', { now, terminatedAt });
  const purge = (now: Date) => transition('terminated', 'retention_expired', { now, terminatedAt });

  it('is allowed right after termination and until the last millisecond of day 30', () => {
    expect(reactivate(T0)).toMatchObject({ ok: true, next: 'starting' });
    expect(reactivate(at(29 * DAY))).toMatchObject({ ok: true, next: 'starting' });
    expect(reactivate(at(30 * DAY - 1))).toMatchObject({ ok: true, next: 'starting' });
  });

  it('is refused from exactly 30 days on, when the purge becomes due', () => {
    const result = reactivate(at(30 * DAY));
    expect(result).toMatchObject({ ok: false, state: 'terminated', code: 'outside_time_window' });
    if (!result.ok) expect(result.reason).toContain('2026-03-31T00:00:00.000Z');
    expect(reactivate(at(31 * DAY))).toMatchObject({ ok: false, code: 'outside_time_window' });
  });

  it('purges exactly when reactivation stops: never both, never neither', () => {
    for (const offset of [0, 1, 30 * DAY - 1, 30 * DAY, 30 * DAY + 1, 60 * DAY]) {
      const now = at(offset);
      expect(reactivate(now).ok).not.toBe(purge(now).ok);
    }
    expect(purge(at(30 * DAY))).toMatchObject({ ok: true, next: 'deleted' });
    expect(purge(at(30 * DAY - 1))).toMatchObject({ ok: false, code: 'outside_time_window' });
  });

  it('tolerates a clock slightly behind the termination time (another replica)', () => {
    expect(reactivate(at(-5000))).toMatchObject({ ok: true, next: 'starting' });
  });

  it('refuses without the time or the termination date (a caller bug, not a user error)', () => {
    expect(transition('terminated', 'reactivate', { terminatedAt })).toMatchObject({ ok: false, code: 'missing_context' });
    expect(transition('terminated', 'reactivate', { now: T0 })).toMatchObject({ ok: false, code: 'missing_context' });
    expect(transition('terminated', 'reactivate', { now: T0, terminatedAt: null })).toMatchObject({
      ok: false,
      code: 'missing_context',
    });
  });
});

describe('tenant lifecycle: soft delete (12 hours, cancellable)', () => {
  const deletionScheduledAt = T0;

  it('cancel returns to what the tenant was, restarting a tenant that was running', () => {
    const cases: Array<[TenantState, TenantState]> = [
      ['running', 'starting'],
      ['stopped', 'stopped'],
      ['suspended', 'suspended'],
      ['error', 'error'],
    ];
    for (const [previousState, next] of cases) {
      expect(transition('scheduled_for_deletion', 'cancel_delete', { now: at(HOUR), deletionScheduledAt, previousState })).toEqual({
        ok: true,
        from: 'scheduled_for_deletion',
        action: 'cancel_delete',
        next,
      });
    }
  });

  it('cancel works until the last millisecond of the 12 hours, then the purge is due', () => {
    const cancel = (now: Date) =>
      transition('scheduled_for_deletion', 'cancel_delete', { now, deletionScheduledAt, previousState: 'stopped' });
    const purge = (now: Date) => transition('scheduled_for_deletion', 'deletion_grace_expired', { now, deletionScheduledAt });
    expect(cancel(at(12 * HOUR - 1)).ok).toBe(true);
    expect(purge(at(12 * HOUR - 1))).toMatchObject({ ok: false, code: 'outside_time_window' });
    expect(cancel(at(12 * HOUR))).toMatchObject({ ok: false, state: 'scheduled_for_deletion', code: 'outside_time_window' });
    expect(purge(at(12 * HOUR))).toMatchObject({ ok: true, next: 'terminated' });
  });

  it('cancel refuses when it cannot know where to return', () => {
    const base = { now: at(HOUR), deletionScheduledAt };
    expect(transition('scheduled_for_deletion', 'cancel_delete', base)).toMatchObject({ code: 'missing_context' });
    expect(transition('scheduled_for_deletion', 'cancel_delete', { ...base, previousState: 'deleted' })).toMatchObject({
      ok: false,
      code: 'missing_context',
    });
  });
});

describe('tenant lifecycle: pending payment window (24 hours)', () => {
  it('deletes an unpaid tenant only once 24 hours have passed', () => {
    const expire = (now: Date) => transition('pending_payment', 'payment_window_expired', { now, createdAt: T0 });
    expect(expire(at(24 * HOUR - 1))).toMatchObject({ ok: false, code: 'outside_time_window' });
    expect(expire(at(24 * HOUR))).toMatchObject({ ok: true, next: 'deleted' });
    expect(transition('pending_payment', 'payment_window_expired', { now: T0 })).toMatchObject({
      code: 'missing_context',
    });
  });
});

describe('tenant lifecycle: retry after an error', () => {
  it('retries the operation that failed', () => {
    const cases: Array<[TenantState, TenantState]> = [
      ['provisioning', 'provisioning'],
      ['starting', 'starting'],
      ['stopping', 'stopping'],
      ['running', 'starting'],
    ];
    for (const [previousState, next] of cases) {
      expect(transition('error', 'retry', { previousState })).toMatchObject({ ok: true, next });
    }
  });

  it('refuses when the failed operation is unknown', () => {
    expect(transition('error', 'retry')).toMatchObject({ ok: false, state: 'error', code: 'missing_context' });
    expect(transition('error', 'retry', { previousState: 'stopped' })).toMatchObject({ code: 'missing_context' });
  });
});

describe('tenant lifecycle: roles', () => {
  it('keeps billing and destructive decisions to operators', () => {
    for (const action of ['suspend', 'resume', 'force_delete', 'terminate'] as const) {
      expect(mayRequest('customer', action)).toBe(false);
      expect(mayRequest('operator', action)).toBe(true);
      expect(mayRequest('system', action)).toBe(true);
    }
    for (const action of [
      'start',
      'stop',
      'restart',
      'schedule_delete',
      'cancel_delete',
      'reactivate',
      'duplicate',
      'change_plan',
      'retry',
    ] as const) {
      expect(mayRequest('customer', action)).toBe(true);
      expect(mayRequest('operator', action)).toBe(true);
    }
  });

  it('lets only the platform report completion and timer events', () => {
    for (const event of [
      'provisioning_succeeded',
      'start_succeeded',
      'stop_succeeded',
      'operation_failed',
      'payment_received',
      'payment_window_expired',
      'deletion_grace_expired',
      'retention_expired',
    ] as const) {
      expect(mayRequest('customer', event)).toBe(false);
      expect(mayRequest('operator', event)).toBe(false);
      expect(mayRequest('system', event)).toBe(true);
    }
  });

  it('lists the buttons a role sees in a state', () => {
    expect(allowedActions('running', 'customer')).toEqual(['stop', 'restart', 'schedule_delete', 'duplicate', 'change_plan', 'restore']);
    expect(allowedActions('running', 'operator')).toEqual([
      'stop',
      'restart',
      'suspend',
      'schedule_delete',
      'force_delete',
      'duplicate',
      'change_plan',
      'terminate',
      'restore',
      'migrate',
    ]);
    expect(allowedActions('suspended', 'customer')).toEqual(['schedule_delete', 'change_plan']);
    expect(allowedActions('deleted', 'operator')).toEqual([]);
    expect(allowedActions('terminated', 'customer', { now: at(DAY), terminatedAt: T0 })).toEqual(['reactivate']);
    expect(allowedActions('terminated', 'customer', { now: at(31 * DAY), terminatedAt: T0 })).toEqual([]);
  });
});

describe('tenant lifecycle: requireTransition', () => {
  it('returns the next state or throws a 409-style ConflictError naming the state', () => {
    expect(requireTransition('stopped', 'start')).toBe('starting');
    let thrown: unknown;
    try {
      requireTransition('provisioning', 'stop');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConflictError);
    expect((thrown as ConflictError).details).toEqual({ state: 'provisioning', action: 'stop', code: 'not_allowed_in_state' });
    expect(() => requireTransition('error', 'retry')).toThrow(/previousState/);
    expect(() => requireTransition('error', 'retry')).not.toThrow(ConflictError);
  });
});

describe('tenant lifecycle: the end of a restore in place', () => {
  it('returns a tenant that was running to starting, and a stopped one to stopped', () => {
    expect(transition('restoring', 'restore_finished', { previousState: 'running' })).toMatchObject({ ok: true, next: 'starting' });
    expect(transition('restoring', 'restore_finished', { previousState: 'stopped' })).toMatchObject({ ok: true, next: 'stopped' });
  });

  it('needs to know where the tenant came from', () => {
    expect(transition('restoring', 'restore_finished', {})).toMatchObject({ ok: false, code: 'missing_context' });
  });
});

describe('tenant lifecycle: the end of a migration', () => {
  it('returns a tenant that was running to starting, and a stopped one to stopped', () => {
    expect(transition('migrating', 'migration_finished', { previousState: 'running' })).toMatchObject({ ok: true, next: 'starting' });
    expect(transition('migrating', 'migration_finished', { previousState: 'stopped' })).toMatchObject({ ok: true, next: 'stopped' });
  });

  it('is an operator decision, never a customer one', () => {
    expect(mayRequest('customer', 'migrate')).toBe(false);
    expect(mayRequest('operator', 'migrate')).toBe(true);
  });
});
