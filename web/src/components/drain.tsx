import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../lib/api';
import type { AcceptedMigration, DatabaseServer, Migration } from '../lib/types';
import { Dialog, Notice } from './ui';

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/**
 * Moves every tenant off a database server: the dialog first lists what would move with each
 * tenant's estimated downtime (a dry run), then follows each migration to its end.
 */
export function DrainButton({ server }: { server: DatabaseServer }) {
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  // Each started move with its tenant's name: a migration names its tenant only by id.
  const [moves, setMoves] = useState<Array<{ id: string; tenant: string }>>([]);
  const ids = moves.map((m) => m.id);
  const preview = useQuery({
    queryKey: ['drain-preview', server.id],
    queryFn: () => api.post<AcceptedMigration[]>(`/database-servers/${server.id}/drain`, { dryRun: true }),
    enabled: open && ids.length === 0,
    retry: false,
  });
  const drain = useMutation({
    mutationFn: () => api.post<AcceptedMigration[]>(`/database-servers/${server.id}/drain`, {}),
    onSuccess: (accepted) => {
      setMoves(accepted.flatMap((a) => (a.migration ? [{ id: a.migration.id, tenant: a.plan.tenant }] : [])));
      void client.invalidateQueries({ queryKey: ['database-servers'] });
    },
  });
  const progress = useQuery({
    queryKey: ['drain-progress', server.id, ids],
    queryFn: () => Promise.all(ids.map((id) => api.get<Migration>(`/migrations/${id}`))),
    enabled: ids.length > 0,
    refetchInterval: (query) => (query.state.data?.every((m) => m.state !== 'running') ? false : 1000),
  });
  const settled = progress.data?.every((m) => m.state !== 'running') ?? false;
  useEffect(() => {
    // The servers' tenant counts change as the moves end, not when they are queued.
    if (settled) void client.invalidateQueries({ queryKey: ['database-servers'] });
  }, [settled, client]);
  // The dialog stays while it is open: the server it follows may be empty by now.
  if (server.tenantCount === 0 && !open) return null;
  return (
    <>
      {server.tenantCount > 0 ? (
        <button type="button" className="button button--small button--secondary" onClick={() => setOpen(true)}>
          Move tenants off<span className="visually-hidden"> {server.name}</span>
        </button>
      ) : null}
      <Dialog
        open={open}
        title={`Move every tenant off ${server.name}`}
        onClose={() => setOpen(false)}
        footer={
          <>
            <button type="button" className="button button--secondary" onClick={() => setOpen(false)}>
              Close
            </button>
            {ids.length === 0 ? (
              <button
                type="button"
                className="button button--primary"
                disabled={!preview.data || preview.data.length === 0 || drain.isPending}
                onClick={() => drain.mutate()}
              >
                Move them
              </button>
            ) : null}
          </>
        }
      >
        <p className="small">
          Each tenant is backed up, loaded on the shared server with the most room (and connections left for it), checked, and its admin
          login verified before its users are let back in; a failure returns it to this server untouched. The server stops taking new
          tenants.
        </p>
        {preview.isError ? <Notice tone="error">{errorMessage(preview.error)}</Notice> : null}
        {drain.isError ? <Notice tone="error">{errorMessage(drain.error)}</Notice> : null}
        {ids.length === 0 && preview.data ? (
          <ul className="small" aria-label="Tenants that would move">
            {preview.data.map(({ plan }) => (
              <li key={plan.tenant}>
                {plan.tenant}: about {seconds(plan.estimatedDowntimeMs)} of maintenance page
              </li>
            ))}
          </ul>
        ) : null}
        {progress.data ? (
          <ul className="small" aria-label="Migrations" aria-live="polite">
            {progress.data.map((m) => (
              <li key={m.id}>
                {moves.find((move) => move.id === m.id)?.tenant ?? m.tenantId}:{' '}
                {m.state === 'running' ? (m.step ?? 'queued') : m.state.replace('_', ' ')}
                {m.downtimeMs !== null ? ` (maintenance page for ${seconds(m.downtimeMs)})` : ''}
                {m.failureReason ? ` — ${m.failureReason}` : ''}
              </li>
            ))}
          </ul>
        ) : null}
      </Dialog>
    </>
  );
}
