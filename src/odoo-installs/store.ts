import type { Transaction, Updateable } from 'kysely';
import type { Database, Db, OdooInstallationRow, OdooInstallationsTable } from '../db/index.js';

/** The `odoo_installations` table: one row per series (this file is its only writer). */
export function installationRows(db: Db): Promise<OdooInstallationRow[]> {
  return db.selectFrom('odoo_installations').selectAll().orderBy('series').execute();
}

export function installationRow(series: string, db: Db): Promise<OdooInstallationRow | undefined> {
  return db.selectFrom('odoo_installations').selectAll().where('series', '=', series).executeTakeFirst();
}

export async function updateInstallation(series: string, changes: Updateable<OdooInstallationsTable>, db: Db): Promise<void> {
  await db.updateTable('odoo_installations').set(changes).where('series', '=', series).execute();
}

/**
 * Marks an installation failed when the job it waits for has ended without finishing it, unless
 * it finished (or was claimed again) meanwhile: answers whether it did.
 */
export async function failAbandonedInstallation(series: string, jobId: string, error: string, db: Db): Promise<boolean> {
  const result = await db
    .updateTable('odoo_installations')
    .set({ status: 'failed', error, step_detail: null, finished_at: new Date() })
    .where('series', '=', series)
    .where('job_id', '=', jobId)
    .where('status', '=', 'installing')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Starts (or restarts) an installation of a series under a new job id, unless one is ready or
 * running: answers the row and whether a job must be sent. Row-locked, so two requests make one job.
 */
export async function claimInstallation(
  input: { series: string; sourceUrl: string; expectedSha256: string | null; jobId: string },
  db: Db,
  send: (trx: Transaction<Database>) => Promise<void>,
): Promise<OdooInstallationRow> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('odoo_installations')
      .selectAll()
      .where('series', '=', input.series)
      .forUpdate()
      .executeTakeFirst();
    if (current && current.status !== 'failed') return current;
    const row = await trx
      .insertInto('odoo_installations')
      .values({
        series: input.series,
        status: 'installing',
        source_url: input.sourceUrl,
        expected_sha256: input.expectedSha256,
        job_id: input.jobId,
      })
      .onConflict((oc) =>
        oc.column('series').doUpdateSet({
          status: 'installing',
          step: null,
          step_detail: null,
          source_url: input.sourceUrl,
          expected_sha256: input.expectedSha256,
          archive_sha256: null,
          error: null,
          job_id: input.jobId,
          requested_at: new Date(),
          finished_at: null,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    await send(trx);
    return row;
  });
}
