/**
 * The PDF of an invoice (document-pdf.ts draws the page), from the stored invoice alone: issued
 * invoices never change but for their status, so the same invoice always renders the same document.
 */
import { day, renderBillingDocument } from './document-pdf.js';
import { formatMoney, formatTaxRate, money } from './money.js';

export interface InvoiceDocument {
  number: string;
  status: 'open' | 'paid' | 'void';
  issuedAt: Date;
  paidAt: Date | null;
  currency: string;
  taxRateBasisPoints: number;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
  lines: Array<{ description: string; periodStart: Date; periodEnd: Date; amountMinor: number }>;
  seller: { name: string };
  buyer: { name: string; email: string | null };
}

export function renderInvoicePdf(invoice: InvoiceDocument): Promise<Buffer> {
  const amount = (minor: number) => formatMoney(money(minor, invoice.currency));
  const status =
    invoice.status === 'paid' && invoice.paidAt ? `Paid on ${day(invoice.paidAt)}` : invoice.status === 'void' ? 'Void' : 'Open';
  return renderBillingDocument({
    title: `Invoice ${invoice.number}`,
    issuedAt: invoice.issuedAt,
    facts: [`Status: ${status}`],
    seller: invoice.seller,
    buyerHeading: 'Billed to',
    buyer: invoice.buyer,
    amounts(table) {
      table.row('Description', 'Amount', true);
      table.rule();
      table.space(0.5);
      for (const line of invoice.lines) {
        table.row(`${line.description} (${day(line.periodStart)} to ${day(line.periodEnd)})`, amount(line.amountMinor));
        table.space(0.3);
      }
      table.space(0.5);
      table.row('Subtotal', amount(invoice.subtotalMinor));
      table.row(`Tax (${formatTaxRate(invoice.taxRateBasisPoints)})`, amount(invoice.taxMinor));
      table.row('Total', amount(invoice.totalMinor), true);
    },
  });
}
