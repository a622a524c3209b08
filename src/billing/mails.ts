/**
 * The words of billing's mails: pure functions of the subscription, so they can be tested and
 * translated later. Customers are told what happened and what they can do in the dashboard,
 * never an operator command.
 */
import { DUNNING, TRIAL_REMINDER_DAYS } from './dunning.js';
import type { BillingMail, Subscription } from './subscription.js';

const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : 'soon');

export function billingMailText(mail: BillingMail, sub: Subscription): { subject: string; text: string } {
  const plan = `the ${sub.price.plan} plan`;
  switch (mail) {
    case 'trial_will_end':
      return {
        subject: `Your trial ends in ${TRIAL_REMINDER_DAYS} days`,
        text: `Your trial of ${plan} ends on ${day(sub.trialEndsAt)}. The first invoice is issued then; add or check your payment method on the Billing page to keep your instance running.`,
      };
    case 'payment_received':
      return { subject: 'Payment received', text: `Thank you: your payment for ${plan} was received. Invoices are on the Billing page.` };
    case 'payment_failed':
      return {
        subject: 'Your payment failed',
        text: `We could not collect the payment for ${plan}. We will try again over the next days; please update your payment method on the Billing page. Without payment your instances are suspended ${DUNNING.suspendOnDay} days after the first failure.`,
      };
    case 'tenants_suspended':
      return {
        subject: 'Your instances are suspended',
        text: `Payment for ${plan} is ${DUNNING.suspendOnDay} days overdue, so your instances are suspended (your data is kept). Pay the open invoice on the Billing page and they resume at once. Without payment the subscription ends ${DUNNING.terminateOnDay} days after the first failure.`,
      };
    case 'subscription_ended':
      return {
        subject: 'Your subscription has ended',
        text: `Your subscription to ${plan} ended on ${day(sub.endedAt)}. Your instances are stopped and their data is kept for 30 days: reactivate the subscription on the Billing page within that time to get them back.`,
      };
    case 'payment_window_expired':
      return {
        subject: 'Your order was cancelled',
        text: `The first payment for ${plan} did not arrive within 24 hours, so the instance that was waiting for it was removed. You can order again at any time.`,
      };
  }
}
