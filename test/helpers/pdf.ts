import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PDF's text as poppler's pdftotext reads it (layout kept), failing clearly when pdftotext is missing. */
export async function pdfText(pdf: Buffer): Promise<string> {
  if (pdf.subarray(0, 5).toString() !== '%PDF-') throw new Error(`not a PDF: ${pdf.subarray(0, 80).toString()}`);
  const dir = mkdtempSync(join(tmpdir(), 'pdf-text-'));
  try {
    writeFileSync(join(dir, 'document.pdf'), pdf);
    const { stdout } = await run('pdftotext', ['-layout', join(dir, 'document.pdf'), '-']).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'ENOENT'
          ? 'pdftotext is not installed: install poppler-utils (scripts/lib.sh ensure_pdftotext does)'
          : String(error),
      );
    });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GETs a PDF from the API with a bearer token and answers its text. */
export async function fetchPdfText(url: string, token: string): Promise<string> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  return pdfText(Buffer.from(await response.arrayBuffer()));
}
