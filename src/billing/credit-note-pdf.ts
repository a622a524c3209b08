/**
 * The PDF of a credit note (a refund of a paid invoice), on the page invoices use (document-pdf.ts),
 * from the stored credit note alone, so it always renders the same.
 */
import { renderBillingDocument } from './document-pdf.js';
import { formatMoney, formatTaxRate, money } from './money.js';

export interface CreditNoteDocument {
  number: string;
  issuedAt: Date;
  invoiceNumber: string;
  reason: string;
  currency: string;
  taxRateBasisPoints: number;
  /** What is refunded, tax included, and the tax share of it. */
  totalMinor: number;
  taxMinor: number;
  seller: { name: string };
  buyer: { name: string; email: string | null };
}

export function renderCreditNotePdf(note: CreditNoteDocument): Promise<Buffer> {
  const amount = (minor: number) => formatMoney(money(minor, note.currency));
  return renderBillingDocument({
    title: `Credit note ${note.number}`,
    issuedAt: note.issuedAt,
    facts: [`Credits invoice: ${note.invoiceNumber}`],
    seller: note.seller,
    buyerHeading: 'Credited to',
    buyer: note.buyer,
    sections: [{ heading: 'Reason', text: note.reason }],
    amounts(table) {
      table.row(`Refund of invoice ${note.invoiceNumber}`, amount(note.totalMinor - note.taxMinor));
      table.row(`Tax (${formatTaxRate(note.taxRateBasisPoints)})`, amount(note.taxMinor));
      table.row('Total credited', amount(note.totalMinor), true);
    },
  });
}
