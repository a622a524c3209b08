import { describe, expect, it } from 'vitest';
import { stripeChargeOutcome, stripeIntentEventPayment } from '../../src/billing/gateways/stripe.js';

/**
 * What an off-session PaymentIntent's status means for the invoice. stripe-mock answers every
 * confirmation with one fixture status (requires_payment_method), so the other statuses Stripe
 * documents are checked here on the pure mapping.
 */
const intent = (status: string) => ({ id: 'pi_1', status, amount: 1900, currency: 'usd' }) as Parameters<typeof stripeChargeOutcome>[0];

describe('stripeChargeOutcome', () => {
  it('succeeded pays the invoice with Stripe’s amount and currency', () => {
    expect(stripeChargeOutcome(intent('succeeded'), { invoiceId: 'inv' })).toEqual({
      invoiceId: 'inv',
      reference: 'pi_1',
      status: 'succeeded',
      amountMinor: 1900,
      currency: 'USD',
    });
  });

  it('processing is not known yet: nothing recorded', () => {
    expect(stripeChargeOutcome(intent('processing'), { invoiceId: 'inv' })).toBeNull();
  });

  it('a confirmation the bank wants the card holder to make is a failed attempt telling them to pay from the billing page', () => {
    for (const status of ['requires_action', 'requires_confirmation'])
      expect(stripeChargeOutcome(intent(status), { invoiceId: 'inv' })).toMatchObject({
        status: 'failed',
        failureReason: expect.stringMatching(/pay the open invoice from the billing page/),
      });
  });

  it('a decline (requires_payment_method, canceled) is a failed attempt for dunning', () => {
    for (const status of ['requires_payment_method', 'canceled'])
      expect(stripeChargeOutcome(intent(status), { invoiceId: 'inv' })).toMatchObject({
        status: 'failed',
        reference: 'pi_1',
        failureReason: expect.stringMatching(/declined/),
      });
  });
});

describe('stripeIntentEventPayment', () => {
  const pi = (status: string, metadata: Record<string, string>) =>
    ({
      id: 'pi_2',
      status,
      amount: 1900,
      amount_received: status === 'succeeded' ? 1900 : 0,
      currency: 'usd',
      metadata,
      last_payment_error: status === 'requires_payment_method' ? { message: 'Your card was declined.' } : null,
    }) as unknown as Parameters<typeof stripeIntentEventPayment>[1];
  const ours = { invoiceId: 'inv', collection: 'saved_card' };

  it('payment_intent.succeeded of a saved-card charge pays the invoice with the amount received', () => {
    expect(stripeIntentEventPayment('payment_intent.succeeded', pi('succeeded', ours))).toEqual({
      invoiceId: 'inv',
      reference: 'pi_2',
      status: 'succeeded',
      amountMinor: 1900,
      currency: 'USD',
    });
  });

  it('payment_intent.payment_failed of a saved-card charge is a failed attempt with Stripe’s reason', () => {
    expect(stripeIntentEventPayment('payment_intent.payment_failed', pi('requires_payment_method', ours))).toMatchObject({
      status: 'failed',
      reference: 'pi_2',
      failureReason: expect.stringMatching(/Your card was declined/),
    });
  });

  it('a Checkout intent (no collection marker), a foreign intent or a succeeded event whose intent is not succeeded apply nothing', () => {
    expect(stripeIntentEventPayment('payment_intent.succeeded', pi('succeeded', { invoiceId: 'inv' }))).toBeNull();
    expect(stripeIntentEventPayment('payment_intent.payment_failed', pi('requires_payment_method', { invoiceId: 'inv' }))).toBeNull();
    expect(stripeIntentEventPayment('payment_intent.succeeded', pi('succeeded', {}))).toBeNull();
    expect(stripeIntentEventPayment('payment_intent.succeeded', pi('processing', ours))).toBeNull();
  });
});
