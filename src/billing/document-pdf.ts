/**
 * The page invoices and credit notes share, drawn with PDFKit from the stored document alone, so
 * the same document always renders the same PDF. Standard PDF fonts only: nothing to embed, text
 * extractable by any reader (the tests read it back with poppler's pdftotext).
 */

export const day = (date: Date) => date.toISOString().slice(0, 10);

/** The amounts table: a label on the left, its amount aligned on the right. */
export interface AmountTable {
  row(label: string, value: string, bold?: boolean): void;
  /** A line under the row above (under the table's header). */
  rule(): void;
  space(lines: number): void;
}

export interface BillingDocumentPage {
  /** "Invoice INV-2026-000001": the heading and the PDF's title. */
  title: string;
  issuedAt: Date;
  /** Lines under the issue date ("Status: Paid on ..."). */
  facts: string[];
  seller: { name: string };
  /** "Billed to", "Credited to". */
  buyerHeading: string;
  buyer: { name: string; email: string | null };
  /** Blocks between the parties and the amounts ("Reason"). */
  sections?: Array<{ heading: string; text: string }>;
  amounts(table: AmountTable): void;
}

export async function renderBillingDocument(page: BillingDocumentPage): Promise<Buffer> {
  // Loaded on the first document, not at start-up: PDFKit and its font tables take a while to load.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: page.title, Author: page.seller.name, CreationDate: page.issuedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  doc.font('Helvetica-Bold').fontSize(20).text(page.title);
  doc.moveDown(0.5).font('Helvetica').fontSize(10);
  doc.text(`Issued: ${day(page.issuedAt)}`);
  for (const fact of page.facts) doc.text(fact);
  doc.moveDown();
  doc.font('Helvetica-Bold').text('From');
  doc.font('Helvetica').text(page.seller.name);
  doc.moveDown(0.5);
  doc.font('Helvetica-Bold').text(page.buyerHeading);
  doc.font('Helvetica').text(page.buyer.name);
  if (page.buyer.email) doc.text(page.buyer.email);
  for (const section of page.sections ?? []) {
    doc.moveDown();
    doc.font('Helvetica-Bold').text(section.heading);
    doc.font('Helvetica').text(section.text);
  }
  doc.moveDown();

  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  const amountWidth = 120;
  page.amounts({
    row(label, value, bold = false) {
      const y = doc.y;
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica');
      doc.text(label, left, y, { width: right - left - amountWidth - 10 });
      const after = doc.y;
      doc.text(value, right - amountWidth, y, { width: amountWidth, align: 'right' });
      doc.y = Math.max(after, doc.y);
      doc.x = left;
    },
    rule() {
      doc
        .moveTo(left, doc.y + 2)
        .lineTo(right, doc.y + 2)
        .stroke();
    },
    space(lines) {
      doc.moveDown(lines);
    },
  });
  doc.end();
  return done;
}
