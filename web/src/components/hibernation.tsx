import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api } from '../lib/api';
import { formatDateTime, formatRelative } from '../lib/format';
import type { Tenant, TenantHibernation } from '../lib/types';
import { DefinitionList, Notice } from './ui';

function wakeText(h: TenantHibernation): string {
  if (!h.lastWokenAt) return 'never woken yet';
  const took = h.lastWakeMs === null ? '' : ` in ${(h.lastWakeMs / 1000).toFixed(1)} s`;
  const why = h.lastWakeReason === 'cron' ? ' (to run its scheduled actions)' : ' (by a visit)';
  return `${formatDateTime(h.lastWokenAt)}${took}${why}`;
}

/**
 * Whether the instance's Odoo sleeps while nobody uses it, and its last wake. The instance stays
 * "running" for its owner either way: the first visit wakes it, which takes a moment.
 */
export function HibernationCard({ tenant }: { tenant: Tenant }) {
  const hibernation = useQuery({
    queryKey: ['tenant-hibernation', tenant.name],
    queryFn: () => api.get<TenantHibernation>(`/tenants/${tenant.name}/hibernation`),
    refetchInterval: 15_000,
  });
  const h = hibernation.data;
  if (!h || tenant.state !== 'running') return null;
  const items: Array<[string, ReactNode]> = [
    [
      'Sleeps when idle',
      h.afterIdleMinutes === null ? 'never on this plan' : `after ${h.afterIdleMinutes} minutes without a visit; the next visit wakes it`,
    ],
    ['Right now', h.state === 'hibernated' ? `asleep since ${formatDateTime(h.hibernatedAt)} (wakes on the next visit)` : 'awake'],
    ['Last visit', h.lastRequestAt ? formatRelative(h.lastRequestAt) : '—'],
    ['Last wake', wakeText(h)],
  ];
  if (h.databaseServerAfterIdleMinutes !== null)
    items.push([
      'Its database server',
      h.databaseServerHibernatedAt
        ? `asleep since ${formatDateTime(h.databaseServerHibernatedAt)} (starts with the next visit, before Odoo)`
        : `running; sleeps too after ${h.databaseServerAfterIdleMinutes} minutes without a visit`,
    ]);
  if (h.state === 'hibernated' && h.cronWakeAt)
    items.push(['Next scheduled wake', `${formatDateTime(h.cronWakeAt)} (its scheduled actions)`]);
  return (
    <section className="card" aria-labelledby="hibernation-title">
      <h2 id="hibernation-title" className="card__title">
        Hibernation
      </h2>
      {h.lastWakeFailed ? (
        <Notice tone="error">
          The last wake failed: visitors saw a page saying the instance could not be started. Our operators have been told; the next visit
          tries again.
        </Notice>
      ) : null}
      <DefinitionList items={items} />
    </section>
  );
}
