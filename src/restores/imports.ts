import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkDownloadLink, readArchiveManifest, signDownloadLink } from '../backups/index.js';
import { AppError, ValidationError } from '../errors/index.js';
import { odooDumpManifestSchema } from '../odoo/index.js';

/** Default largest upload: Odoo databases with years of attachments reach several GiB. */
export const DEFAULT_IMPORT_MAX_BYTES = 20 * 1024 ** 3;
/** An upload is kept this long for the tenant to be made from it. */
const UPLOAD_TTL_SECONDS = 6 * 60 * 60;

export interface ImportUploadDependencies {
  scratchDir: string;
  maxBytes: number;
  /** Signs upload tokens (derived from the secret key for this purpose only). */
  uploadKey: Buffer;
  /** The Odoo series that can run here (several side by side): an import must be of one of them. */
  availableOdooSeries: () => Promise<string[]>;
}

export interface ReceivedUpload {
  uploadToken: string;
  expiresAt: Date;
  bytes: number;
  manifest: { dbName: string; version: string; majorVersion: string; pgVersion: string; modules: number };
}

export const uploadFileOf = (deps: Pick<ImportUploadDependencies, 'scratchDir'>, uploadId: string) =>
  join(deps.scratchDir, `upload-${uploadId}.zip`);

class UploadTooLargeError extends AppError {
  constructor(maxBytes: number) {
    super('payload_too_large', `The archive is larger than this platform accepts (${maxBytes} bytes, BACKUP_IMPORT_MAX_BYTES).`, {
      field: 'body',
    });
  }
}

/**
 * Receives an Odoo backup zip, streamed to a scratch file (0600) without holding it in memory,
 * counting bytes against the platform's own limit; then checks it is an Odoo backup made by the
 * Odoo installed here: `dump.sql` present, `manifest.json` with Odoo's fields, the same major
 * version (a dump of another version cannot be loaded: Odoo migrates between versions, not a
 * restore). A refused upload leaves nothing behind. Answers a token naming the upload and its
 * uploader, which the tenant creation then presents.
 */
export async function receiveImportUpload(deps: ImportUploadDependencies, body: Readable, userId: string): Promise<ReceivedUpload> {
  const uploadId = randomUUID();
  const file = uploadFileOf(deps, uploadId);
  await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(bytes > deps.maxBytes ? new UploadTooLargeError(deps.maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(body, limit, createWriteStream(file, { mode: 0o600 }));
    const manifest = await checkUploadedArchive(file, await deps.availableOdooSeries());
    const expiresAt = Math.floor(Date.now() / 1000) + UPLOAD_TTL_SECONDS;
    return {
      uploadToken: signDownloadLink(deps.uploadKey, { backupId: uploadId, userId, expiresAt }),
      expiresAt: new Date(expiresAt * 1000),
      bytes,
      manifest,
    };
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

async function checkUploadedArchive(file: string, installed: string[]): Promise<ReceivedUpload['manifest']> {
  const contents = await readArchiveManifest(file).catch((error: Error) => {
    throw new ValidationError(`The upload is not a readable zip file (${error.message}). Upload the .zip Odoo's database manager made.`, {
      field: 'body',
    });
  });
  if (!contents.hasDump)
    throw new ValidationError('The zip has no dump.sql: it is not an Odoo backup (with filestore).', { field: 'body' });
  if (!contents.manifest) throw new ValidationError('The zip has no manifest.json: it is not an Odoo backup.', { field: 'manifest' });
  let parsed: ReturnType<typeof odooDumpManifestSchema.safeParse>;
  try {
    parsed = odooDumpManifestSchema.safeParse(JSON.parse(contents.manifest));
  } catch {
    throw new ValidationError('manifest.json is not valid JSON.', { field: 'manifest' });
  }
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new ValidationError(`manifest.json is not an Odoo backup manifest (wrong or missing: ${fields}).`, { field: 'manifest' });
  }
  const manifest = parsed.data;
  if (installed.length === 0)
    throw new ValidationError('This platform has no Odoo installed to check the backup against; an operator must install one.');
  if (!installed.includes(manifest.major_version)) {
    const runs = installed.join(' and ');
    throw new ValidationError(
      `This backup was made with Odoo ${manifest.major_version} (${manifest.version}); this platform runs Odoo ${runs}. ` +
        `Upgrade the database to Odoo ${installed.at(-1)} first (Odoo's upgrade service), then import the upgraded backup.`,
      { field: 'manifest.major_version' },
    );
  }
  return {
    dbName: manifest.db_name,
    version: manifest.version,
    majorVersion: manifest.major_version,
    pgVersion: manifest.pg_version,
    modules: Object.keys(manifest.modules).length,
  };
}

/** The Odoo series an upload was made with (its manifest's major version); undefined when unreadable. */
export async function uploadSeries(file: string): Promise<string | undefined> {
  const contents = await readArchiveManifest(file).catch(() => undefined);
  if (!contents?.manifest) return undefined;
  try {
    const parsed = odooDumpManifestSchema.safeParse(JSON.parse(contents.manifest));
    return parsed.success ? parsed.data.major_version : undefined;
  } catch {
    return undefined;
  }
}

/** The upload a token names, for the user it was given to; 404 for anything else, expired ones included. */
export function uploadOf(deps: ImportUploadDependencies, token: string, userId: string): string {
  const check = checkDownloadLink(deps.uploadKey, token, new Date());
  if (!check.ok || check.grant.userId !== userId)
    throw new AppError('not_found', 'This upload is unknown or has expired (uploads are kept 6 hours): upload the archive again.', {
      field: 'uploadToken',
    });
  return check.grant.backupId;
}
