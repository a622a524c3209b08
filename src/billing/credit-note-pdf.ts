/**
 * The PDF of a credit note (a refund of a paid invoice), drawn like invoices (invoice-pdf.ts):
 * PDFKit, standard fonts only, from the stored credit note alone, so it always renders the same.
 */
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

const day = (date: Date) => date.toISOString().slice(0, 10);

export async function renderCreditNotePdf(note: CreditNoteDocument): Promise<Buffer> {
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Credit note ${note.number}`, Author: note.seller.name, CreationDate: note.issuedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const amount = (minor: number) => formatMoney(money(minor, note.currency));

  doc.font('Helvetica-Bold').fontSize(20).text(`Credit note ${note.number}`);
  doc.moveDown(0.5).font('Helvetica').fontSize(10);
  doc.text(`Issued: ${day(note.issuedAt)}`);
  doc.text(`Credits invoice: ${note.invoiceNumber}`);
  doc.moveDown();
  doc.font('Helvetica-Bold').text('From');
  doc.font('Helvetica').text(note.seller.name);
  doc.moveDown(0.5);
  doc.font('Helvetica-Bold').text('Credited to');
  doc.font('Helvetica').text(note.buyer.name);
  if (note.buyer.email) doc.text(note.buyer.email);
  doc.moveDown();
  doc.font('Helvetica-Bold').text('Reason');
  doc.font('Helvetica').text(note.reason);
  doc.moveDown();

  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  const amountWidth = 120;
  const row = (label: string, value: string, bold = false) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica');
    doc.text(label, left, y, { width: right - left - amountWidth - 10 });
    const after = doc.y;
    doc.text(value, right - amountWidth, y, { width: amountWidth, align: 'right' });
    doc.y = Math.max(after, doc.y);
    doc.x = left;
  };
  row(`Refund of invoice ${note.invoiceNumber}`, amount(note.totalMinor - note.taxMinor));
  row(`Tax (${formatTaxRate(note.taxRateBasisPoints)})`, amount(note.taxMinor));
  row('Total credited', amount(note.totalMinor), true);
  doc.end();
  return done;
}
