import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../lib/api';
import { formatDateTime, formatRelative, formatSeconds, humanize } from '../lib/format';
import type { Backup, Role, Tenant } from '../lib/types';
import { EmptyState, Notice, QueryStatus, StateBadge } from './ui';

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
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
