/**
 * The PDF of an invoice, drawn with PDFKit from the stored invoice alone (issued invoices never
 * change but for their status), so the same invoice always renders the same document. Standard
 * PDF fonts only: nothing to embed, text extractable by any reader (the tests read it back with
 * poppler's pdftotext).
 */
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

const day = (date: Date) => date.toISOString().slice(0, 10);

export async function renderInvoicePdf(invoice: InvoiceDocument): Promise<Buffer> {
  // Loaded on the first invoice, not at start-up: PDFKit and its font tables take a while to load.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Invoice ${invoice.number}`, Author: invoice.seller.name, CreationDate: invoice.issuedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const amount = (minor: number) => formatMoney(money(minor, invoice.currency));

  doc.font('Helvetica-Bold').fontSize(20).text(`Invoice ${invoice.number}`);
  doc.moveDown(0.5).font('Helvetica').fontSize(10);
  doc.text(`Issued: ${day(invoice.issuedAt)}`);
  const status =
    invoice.status === 'paid' && invoice.paidAt ? `Paid on ${day(invoice.paidAt)}` : invoice.status === 'void' ? 'Void' : 'Open';
  doc.text(`Status: ${status}`);
  doc.moveDown();
  doc.font('Helvetica-Bold').text('From');
  doc.font('Helvetica').text(invoice.seller.name);
  doc.moveDown(0.5);
  doc.font('Helvetica-Bold').text('Billed to');
  doc.font('Helvetica').text(invoice.buyer.name);
  if (invoice.buyer.email) doc.text(invoice.buyer.email);
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
  row('Description', 'Amount', true);
  doc
    .moveTo(left, doc.y + 2)
    .lineTo(right, doc.y + 2)
    .stroke();
  doc.moveDown(0.5);
  for (const line of invoice.lines) {
    row(`${line.description} (${day(line.periodStart)} to ${day(line.periodEnd)})`, amount(line.amountMinor));
    doc.moveDown(0.3);
  }
  doc.moveDown(0.5);
  row('Subtotal', amount(invoice.subtotalMinor));
  row(`Tax (${formatTaxRate(invoice.taxRateBasisPoints)})`, amount(invoice.taxMinor));
  row('Total', amount(invoice.totalMinor), true);
  doc.end();
  return done;
}
