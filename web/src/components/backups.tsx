import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../lib/api';
import { formatDateTime, formatRelative, formatSeconds, humanize } from '../lib/format';
import type { Backup, Restore, Role, Tenant } from '../lib/types';
import { ConfirmDialog, EmptyState, Notice, QueryStatus, StateBadge } from './ui';

/** How a backup's state reads as a badge: running is work in progress, verified is good. */
const BADGE: Record<Backup['state'], string> = { running: 'building', verified: 'completed', failed: 'failed' };

function size(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1_048_576) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1_073_741_824) return `${(bytes / 1_048_576).toFixed(1)} MB`;
  return `${(bytes / 1_073_741_824).toFixed(2)} GB`;
}

/** Tenants whose database exists (a backup of anything else would fail). */
const BACKED_UP_STATES = new Set(['running', 'stopped', 'suspended', 'scheduled_for_deletion']);

/**
 * A tenant's backups: state (verified only once the stored archive was read back), size, when,
 * what made it; a button to back up now and a download for verified ones (a signed link, valid
 * for minutes, that the browser follows). Polls while a backup runs.
 */
export function Backups({ tenant, role }: { tenant: Tenant; role: Role }) {
  const client = useQueryClient();
  const key = ['tenant-backups', tenant.name];
  const path = `/tenants/${encodeURIComponent(tenant.name)}/backups`;
  const backups = useQuery({
    queryKey: key,
    queryFn: () => api.get<Backup[]>(path),
    refetchInterval: (query) => (query.state.data?.some((b) => b.state === 'running') ? 2000 : false),
  });
  const create = useMutation({
    mutationFn: () => api.post<{ backup: Backup }>(path, {}),
    onSuccess: () => void client.invalidateQueries({ queryKey: key }),
  });
  const download = useMutation({
    mutationFn: (id: string) => api.post<{ url: string }>(`${path}/${id}/download-link`, {}),
    onSuccess: (link) => {
      window.location.assign(link.url);
    },
  });
  const canBackUp = BACKED_UP_STATES.has(tenant.state);
  const canRestore = tenant.allowedActions.includes('restore');
  const [restoring, setRestoring] = useState<Backup | undefined>();
  const [restoreId, setRestoreId] = useState<string | undefined>();
  const restore = useMutation({
    mutationFn: (id: string) => api.post<{ restore: Restore }>(`${path}/${id}/restore`, {}),
    onSuccess: (accepted) => {
      setRestoring(undefined);
      setRestoreId(accepted.restore.id);
      void client.invalidateQueries({ queryKey: ['tenant', tenant.name] });
    },
  });
  // The restore's progress, step by step, until it ends (then the instance and its backups refresh).
  const progress = useQuery({
    queryKey: ['tenant-restore', tenant.name, restoreId],
    enabled: restoreId !== undefined,
    queryFn: () => api.get<Restore>(`/tenants/${encodeURIComponent(tenant.name)}/restores/${restoreId}`),
    refetchInterval: (query) => {
      if (query.state.data && query.state.data.state !== 'running') {
        void client.invalidateQueries({ queryKey: key });
        void client.invalidateQueries({ queryKey: ['tenant', tenant.name] });
        return false;
      }
      return 1500;
    },
  });

  return (
    <section className="card" aria-labelledby="backups-title">
      <div className="card__head">
        <h2 id="backups-title" className="card__title">
          Backups
        </h2>
        <button
          type="button"
          className="button button--small button--primary"
          disabled={!canBackUp || create.isPending}
          onClick={() => create.mutate()}
        >
          {create.isPending ? 'Starting…' : 'Back up now'}
        </button>
      </div>
      <p className="muted small">
        Each backup is an Odoo backup zip (database dump, filestore, manifest) that any Odoo database manager can restore. A backup is
        marked verified only after the stored archive was read back and its checksum matched. Daily backups run automatically.
      </p>
      {create.isError ? <Notice tone="error">{errorMessage(create.error)}</Notice> : null}
      {restore.isError ? <Notice tone="error">{errorMessage(restore.error)}</Notice> : null}
      {progress.data ? <RestoreProgress restore={progress.data} /> : null}
      {download.isError ? <Notice tone="error">{errorMessage(download.error)}</Notice> : null}
      <QueryStatus query={backups} loading="Loading backups…" />
      {backups.data && backups.data.length === 0 ? (
        <EmptyState title="No backups yet">
          {canBackUp ? 'The first daily backup runs tonight, or back up now.' : 'Backups start once the instance is running.'}
        </EmptyState>
      ) : null}
      {backups.data && backups.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Backups of {tenant.name}</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">State</th>
                <th scope="col">Made by</th>
                <th scope="col">Size</th>
                <th scope="col">Took</th>
                {role === 'operator' ? <th scope="col">Stored at</th> : null}
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {backups.data.map((backup) => (
                <tr key={backup.id} data-backup={backup.id}>
                  <td data-label="Started" title={formatDateTime(backup.startedAt)}>
                    {formatRelative(backup.startedAt)}
                  </td>
                  <td data-label="State">
                    <StateBadge state={BADGE[backup.state]} label={humanize(backup.state)} />
                    {backup.failureReason ? <div className="field__error small">{backup.failureReason}</div> : null}
                    {backup.testRestore ? (
                      <div className={backup.testRestore.state === 'passed' ? 'muted small' : 'field__error small'}>
                        {backup.testRestore.state === 'passed'
                          ? `Test restore passed ${formatRelative(backup.testRestore.at)}`
                          : `Test restore failed: ${backup.testRestore.reason ?? 'no reason given'}`}
                      </div>
                    ) : null}
                  </td>
                  <td data-label="Made by">{humanize(backup.trigger)}</td>
                  <td data-label="Size" title={backup.sha256 ? `sha256 ${backup.sha256}` : undefined}>
                    {size(backup.archiveBytes)}
                  </td>
                  <td data-label="Took">{formatSeconds(backup.durationMs === null ? null : backup.durationMs / 1000)}</td>
                  {role === 'operator' ? (
                    <td data-label="Stored at" className="small">
                      {backup.storageLocation ?? '—'}
                    </td>
                  ) : null}
                  <td data-label="Actions">
                    {backup.state === 'verified' ? (
                      <button
                        type="button"
                        className="button button--small button--secondary"
                        disabled={download.isPending}
                        onClick={() => download.mutate(backup.id)}
                      >
                        Download<span className="visually-hidden"> the backup of {formatDateTime(backup.startedAt)}</span>
                      </button>
                    ) : null}
                    {backup.state === 'verified' && canRestore ? (
                      <button
                        type="button"
                        className="button button--small button--ghost"
                        disabled={restore.isPending}
                        onClick={() => setRestoring(backup)}
                      >
                        Restore<span className="visually-hidden"> the backup of {formatDateTime(backup.startedAt)}</span>
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {restoring ? (
        <ConfirmDialog
          open
          danger
          title={`Restore the backup of ${formatDateTime(restoring.startedAt)}?`}
          body={
            <p>
              {tenant.name} shows a maintenance page while the backup is restored; everything changed since{' '}
              {formatDateTime(restoring.startedAt)} is replaced. The current data is backed up first, so this restore can be undone by
              restoring that backup.
            </p>
          }
          confirmLabel="Restore"
          busy={restore.isPending}
          onConfirm={() => restore.mutate(restoring.id)}
          onCancel={() => setRestoring(undefined)}
        />
      ) : null}
    </section>
  );
}

/** Where a restore is: its steps done out of all, or how it ended. */
function RestoreProgress({ restore }: { restore: Restore }) {
  if (restore.state === 'succeeded')
    return <Notice tone="ok">The backup was restored. The data it replaced is in the newest “before restore” backup below.</Notice>;
  if (restore.state === 'failed') return <Notice tone="error">{restore.failureReason ?? 'The restore could not be completed.'}</Notice>;
  const done = restore.step ? restore.steps.indexOf(restore.step) + 1 : 0;
  return (
    <Notice tone="info">
      Restoring: step {done} of {restore.steps.length}
      {restore.step ? ` (${humanize(restore.step)} done)` : ''}. Visitors see a maintenance page meanwhile.
      <progress className="progress" max={restore.steps.length} value={done} aria-label="Restore progress" />
    </Notice>
  );
}
