/**
 * Kill Bill's overdue configuration, generated from our dunning defaults (pure), so that Kill
 * Bill's own view of an unpaid account agrees with the platform's: from the first day an invoice
 * is unpaid no plan changes (our grace days), from the suspension day entitlements are blocked
 * (our tenants suspended), and on the termination day the subscription is cancelled at once (our
 * subscription expired), so Kill Bill stops invoicing an account the platform has ended. Kill
 * Bill pushes OVERDUE_CHANGE and BLOCKING_STATE for each step; the platform's own billing clock
 * takes the same steps on the same days.
 */
import { DUNNING } from '../../dunning.js';

export interface OverdueSchedule {
  suspendOnDay: number;
  terminateOnDay: number;
}

function days(n: number): string {
  return `<unit>DAYS</unit><number>${n}</number>`;
}

function state(name: string, fromDay: number, lines: string[]): string[] {
  return [
    `    <state name="${name}">`,
    `      <condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds>${days(fromDay)}</timeSinceEarliestUnpaidInvoiceEqualsOrExceeds></condition>`,
    ...lines.map((line) => `      ${line}`),
    '    </state>',
  ];
}

/** The XML for Kill Bill's `POST /1.0/kb/overdue/xml`; states most severe first, as Kill Bill reads them. */
export function killbillOverdueXml(schedule: OverdueSchedule = DUNNING): string {
  const { suspendOnDay, terminateOnDay } = schedule;
  if (!(suspendOnDay > 1 && terminateOnDay > suspendOnDay)) throw new Error('dunning days must be 1 < suspend < terminate');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<overdueConfig>',
    '  <accountOverdueStates>',
    `    <initialReevaluationInterval>${days(1)}</initialReevaluationInterval>`,
    ...state('TERMINATED', terminateOnDay, [
      '<externalMessage>Subscription ended: unpaid for too long</externalMessage>',
      '<blockChanges>true</blockChanges>',
      '<disableEntitlementAndChangesBlocked>true</disableEntitlementAndChangesBlocked>',
      '<subscriptionCancellationPolicy>IMMEDIATE</subscriptionCancellationPolicy>',
    ]),
    ...state('SUSPENDED', suspendOnDay, [
      '<externalMessage>Suspended: payment overdue</externalMessage>',
      '<blockChanges>true</blockChanges>',
      '<disableEntitlementAndChangesBlocked>true</disableEntitlementAndChangesBlocked>',
      `<autoReevaluationInterval>${days(terminateOnDay - suspendOnDay)}</autoReevaluationInterval>`,
    ]),
    ...state('GRACE', 1, [
      '<externalMessage>Payment overdue: no plan changes until paid</externalMessage>',
      '<blockChanges>true</blockChanges>',
      '<disableEntitlementAndChangesBlocked>false</disableEntitlementAndChangesBlocked>',
      `<autoReevaluationInterval>${days(suspendOnDay - 1)}</autoReevaluationInterval>`,
    ]),
    '  </accountOverdueStates>',
    '</overdueConfig>',
    '',
  ].join('\n');
}
