import { describe, expect, it } from 'vitest';
import {
  CUSTOMER_ERROR_MESSAGE,
  CUSTOMER_FAILURE_REASON,
  eventForCustomer,
  stateReasonForCustomer,
} from '../../src/tenants/customer-view.js';
import { planLimitRefusal, STATES_WITHOUT_A_PLACE } from '../../src/tenants/limits.js';

describe('planLimitRefusal', () => {
  const basic = { name: 'Basic', maxTenantsPerAccount: 1 };

  it('refuses from the limit on, naming the plan and what to do', () => {
    expect(planLimitRefusal(basic, 0, 'create')).toBeUndefined();
    expect(planLimitRefusal(basic, 1, 'create')).toBe(
      'Your account already has 1 tenant on the Basic plan, the most this plan allows. Delete it or choose another plan.',
    );
    expect(planLimitRefusal(basic, 3, 'create')).toBe(
      'Your account already has 3 tenants on the Basic plan, the most this plan allows. Delete one of them or choose another plan.',
    );
    expect(planLimitRefusal({ name: 'Team', maxTenantsPerAccount: 5 }, 4, 'create')).toBeUndefined();
  });

  it('never refuses a plan without a limit', () => {
    expect(planLimitRefusal({ name: 'Standard', maxTenantsPerAccount: null }, 1000, 'create')).toBeUndefined();
  });

  it('gives advice that fits the request, never an operator command', () => {
    expect(planLimitRefusal(basic, 1, 'duplicate')).toMatch(/staging copy is a tenant on the same plan/);
    expect(planLimitRefusal(basic, 1, 'reactivate')).toMatch(/then reactivate this one\.$/);
    for (const request of ['create', 'duplicate', 'reactivate'] as const) {
      expect(planLimitRefusal(basic, 1, request)).not.toMatch(/saasctl|operator/i);
    }
  });

  it('frees a place only once a tenant is terminated or deleted (a soft-deleted one can still come back)', () => {
    expect([...STATES_WITHOUT_A_PLACE].sort()).toEqual(['deleted', 'terminated']);
  });
});

describe('what customers read of failures', () => {
  const internal = 'pg_restore failed (exit 1): could not connect to server 10.0.0.7:5433 as saas_template_owner';

  it('replaces error events and the move to error, and keeps the rest as recorded', () => {
    const error = { id: 1, type: 'error', toState: null, message: internal };
    expect(eventForCustomer(error)).toEqual({ ...error, message: CUSTOMER_ERROR_MESSAGE });
    const failed = { id: 2, type: 'state', toState: 'error', message: internal };
    expect(eventForCustomer(failed)).toEqual({ ...failed, message: CUSTOMER_FAILURE_REASON });
    const step = { id: 3, type: 'step', toState: null, message: 'clone done in 120 ms' };
    expect(eventForCustomer(step)).toBe(step);
    const stopped = { id: 4, type: 'state', toState: 'stopped', message: 'Odoo stopped' };
    expect(eventForCustomer(stopped)).toBe(stopped);
  });

  it('replaces the state reason only in the error state', () => {
    expect(stateReasonForCustomer('error', internal)).toBe(CUSTOMER_FAILURE_REASON);
    expect(stateReasonForCustomer('error', null)).toBeNull();
    expect(stateReasonForCustomer('suspended', 'unpaid invoice')).toBe('unpaid invoice');
  });
});
