/**
 * What customers may read about their own tenants. Failure texts come from the platform's jobs
 * (command stderr, SQL errors, server names, paths), so customers get a plain sentence instead
 * and operators keep the original. Pure.
 */

/** Shown to customers in place of an internal error message. */
export const CUSTOMER_ERROR_MESSAGE = 'Something went wrong on our side; the platform retries where it can.';
/** Shown to customers in place of the reason a tenant went to `error`. */
export const CUSTOMER_FAILURE_REASON = 'The operation could not be completed. Retry it, or contact support if it fails again.';

/** A tenant timeline entry with the fields the redaction looks at. */
interface EventLike {
  type: string;
  toState: string | null;
  message: string | null;
}

/** The event as a customer sees it: error texts replaced, everything else as recorded. */
export function eventForCustomer<E extends EventLike>(event: E): E {
  if (event.type === 'error') return { ...event, message: CUSTOMER_ERROR_MESSAGE };
  if (event.type === 'state' && event.toState === 'error') return { ...event, message: CUSTOMER_FAILURE_REASON };
  return event;
}

/** A tenant's state reason as a customer sees it (only `error` carries internal failure text). */
export function stateReasonForCustomer(state: string, reason: string | null): string | null {
  return state === 'error' && reason !== null ? CUSTOMER_FAILURE_REASON : reason;
}
