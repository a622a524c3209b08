/**
 * Kill Bill's catalog, generated from our plan catalog (pure): one Kill Bill product per paid
 * plan and one Kill Bill plan per price (`<code>-monthly`, `<code>-annual`), each with a free
 * TRIAL phase of the plan's trial length and an EVERGREEN phase at the price. A subscription
 * without a trial starts directly in EVERGREEN (the provider asks for that phase), so one catalog
 * serves both. Free plans (no price) are left out: they need no billing at all.
 *
 * Tax is not in the catalog: Kill Bill computes none without a tax plugin, so a taxed price is
 * refused here rather than silently billed without its tax. Per-user and per-GiB prices are
 * refused the same way: Kill Bill would need them as catalog usage sections fed with usage
 * records pushed to its usage API, and its own rule for the billed quantity; billing them here
 * without that would drop the extra users' charges silently (docs/operations/billing.md).
 */
import type { PriceInterval } from '../../../plans/index.js';
import { DEFAULT_TRIAL_DAYS } from '../../dunning.js';
import { minorUnitDigits } from '../../money.js';

export interface CatalogPlan {
  code: string;
  archived: boolean;
  trialDays: number;
  prices: Array<{
    interval: PriceInterval;
    amountCents: number;
    currency: string;
    taxRateBasisPoints: number;
    perUser?: unknown;
    perStorageGiB?: unknown;
  }>;
}

const BILLING_PERIOD: Record<PriceInterval, { suffix: string; period: string }> = {
  month: { suffix: 'monthly', period: 'MONTHLY' },
  year: { suffix: 'annual', period: 'ANNUAL' },
};

/** The Kill Bill plan name of our plan at one interval. */
export function killbillPlanName(planCode: string, interval: PriceInterval): string {
  return `${planCode}-${BILLING_PERIOD[interval].suffix}`;
}

/** Our plan and interval of a Kill Bill plan name (null: not one of ours). */
export function planOfKillbillName(name: string): { plan: string; interval: PriceInterval } | null {
  for (const [interval, { suffix }] of Object.entries(BILLING_PERIOD) as Array<[PriceInterval, { suffix: string }]>)
    if (name.endsWith(`-${suffix}`)) return { plan: name.slice(0, -suffix.length - 1), interval };
  return null;
}

/** "1900" USD -> "19.00", "1900" JPY -> "1900": exact, by string (no float). */
export function decimalAmount(amountMinor: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(amountMinor);
  const text = String(Math.abs(amountMinor)).padStart(digits + 1, '0');
  return `${amountMinor < 0 ? '-' : ''}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** Kill Bill's decimal amount (a JSON number such as 19 or 19.5) in minor units, rounded to the unit. */
export function minorAmount(amount: number, currency: string): number {
  return Math.round(amount * 10 ** minorUnitDigits(currency));
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export class CatalogRefusedError extends Error {}

/**
 * The catalog XML for Kill Bill's `POST /1.0/kb/catalog/xml`. `effectiveDate` versions it: Kill
 * Bill keeps every uploaded version and bills each subscription by the one in force, so an
 * upload after a price change must carry a later date.
 */
export function killbillCatalogXml(plans: CatalogPlan[], options: { name: string; effectiveDate: Date }): string {
  const paid = plans.filter((plan) => !plan.archived && plan.prices.length > 0).sort((a, b) => a.code.localeCompare(b.code));
  if (paid.length === 0) throw new CatalogRefusedError('No paid plan to put in the Kill Bill catalog: add a price to a plan first.');
  for (const plan of paid)
    for (const price of plan.prices)
      if (price.taxRateBasisPoints !== 0)
        throw new CatalogRefusedError(
          `Plan ${plan.code} has a tax rate on its ${price.interval}ly price; Kill Bill adds no tax without a tax plugin, so use the built-in provider or remove the rate.`,
        );
  for (const plan of paid)
    for (const price of plan.prices)
      if (price.perUser || price.perStorageGiB)
        throw new CatalogRefusedError(
          `Plan ${plan.code} prices extra ${price.perUser ? 'users' : 'storage'} on its ${price.interval}ly price; the Kill Bill provider does not bill usage, so use the built-in provider (BILLING_PROVIDER=builtin) or remove perUser and perStorageGiB from the plan.`,
        );
  const currencies = [...new Set(paid.flatMap((plan) => plan.prices.map((p) => p.currency)))].sort();
  const planNames: string[] = [];
  const planXml: string[] = [];
  for (const plan of paid) {
    const trialDays = plan.trialDays > 0 ? plan.trialDays : DEFAULT_TRIAL_DAYS;
    for (const price of [...plan.prices].sort((a, b) => a.interval.localeCompare(b.interval))) {
      const name = killbillPlanName(plan.code, price.interval);
      planNames.push(name);
      planXml.push(
        [
          `    <plan name="${escapeXml(name)}">`,
          `      <product>${escapeXml(plan.code)}</product>`,
          '      <initialPhases>',
          '        <phase type="TRIAL">',
          `          <duration><unit>DAYS</unit><number>${trialDays}</number></duration>`,
          '          <fixed><fixedPrice/></fixed>',
          '        </phase>',
          '      </initialPhases>',
          '      <finalPhase type="EVERGREEN">',
          '        <duration><unit>UNLIMITED</unit></duration>',
          '        <recurring>',
          `          <billingPeriod>${BILLING_PERIOD[price.interval].period}</billingPeriod>`,
          `          <recurringPrice><price><currency>${price.currency}</currency><value>${decimalAmount(price.amountCents, price.currency)}</value></price></recurringPrice>`,
          '        </recurring>',
          '      </finalPhase>',
          '    </plan>',
        ].join('\n'),
      );
    }
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<catalog xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="CatalogSchema.xsd">',
    `  <effectiveDate>${options.effectiveDate.toISOString()}</effectiveDate>`,
    `  <catalogName>${escapeXml(options.name)}</catalogName>`,
    '  <recurringBillingMode>IN_ADVANCE</recurringBillingMode>',
    '  <currencies>',
    ...currencies.map((currency) => `    <currency>${currency}</currency>`),
    '  </currencies>',
    '  <products>',
    ...paid.map((plan) => `    <product name="${escapeXml(plan.code)}"><category>BASE</category></product>`),
    '  </products>',
    '  <rules>',
    // Upgrades apply at once (Kill Bill prorates them); cancellation waits for the end of the term,
    // as the built-in provider does.
    '    <changePolicy><changePolicyCase><policy>IMMEDIATE</policy></changePolicyCase></changePolicy>',
    '    <cancelPolicy><cancelPolicyCase><policy>END_OF_TERM</policy></cancelPolicyCase></cancelPolicy>',
    '  </rules>',
    '  <plans>',
    ...planXml,
    '  </plans>',
    '  <priceLists>',
    '    <defaultPriceList name="DEFAULT">',
    '      <plans>',
    ...planNames.map((name) => `        <plan>${escapeXml(name)}</plan>`),
    '      </plans>',
    '    </defaultPriceList>',
    '  </priceLists>',
    '</catalog>',
    '',
  ].join('\n');
}

/** The plans and EVERGREEN amounts of a generated catalog: [Kill Bill plan name, amount as written]. */
function plannedPrices(xml: string): Array<[string, string]> {
  return [...xml.matchAll(/<plan name="([^"]+)"[^>]*>[\s\S]*?<value>([^<]+)<\/value>/g)].map((m) => [m[1] as string, m[2] as string]);
}

/** "19.000000000" and "19.00" are the same amount: compared without trailing zeros. */
function sameAmount(a: string, b: string): boolean {
  const canonical = (v: string) => (v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v);
  return canonical(a.trim()) === canonical(b.trim());
}

/**
 * Whether Kill Bill's catalog (as it answers it: reformatted, every version) already has each of
 * our plans at its price, so that a start does not upload a new catalog version needlessly.
 */
export function catalogHasPlans(current: string, wanted: string): boolean {
  const have = plannedPrices(current);
  return plannedPrices(wanted).every(([name, value]) => have.some(([n, v]) => n === name && sameAmount(v, value)));
}
