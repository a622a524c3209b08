import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from './api';
import type { Accepted, Tenant, TenantEvent } from './types';
import { TRANSITIONAL_STATES } from './types';

export const tenantKey = (name: string) => ['tenant', name] as const;
export const tenantEventsKey = (name: string) => ['tenant-events', name] as const;

/**
 * Puts a fresh tenant snapshot everywhere it is shown: its page, and the rows of the lists that
 * hold it (keeping each list's own age, so a list still refreshes when it is due). Lists that do
 * not hold it (a new tenant, a changed filter match) are marked out of date instead.
 */
export function storeTenant(client: QueryClient, tenant: Tenant): void {
  client.setQueryData(tenantKey(tenant.name), tenant);
  for (const [key, list] of client.getQueriesData<Tenant[]>({ queryKey: ['tenants'] })) {
    if (!list) continue;
    if (list.some((t) => t.id === tenant.id)) {
      client.setQueryData<Tenant[]>(
        key,
        list.map((t) => (t.id === tenant.id ? tenant : t)),
        { updatedAt: client.getQueryState(key)?.dataUpdatedAt },
      );
    } else {
      void client.invalidateQueries({ queryKey: key, exact: true });
    }
  }
}

/** How often lists poll: quickly while something is changing, slowly otherwise. */
export function listRefetchInterval(tenants: Tenant[] | undefined): number {
  return tenants?.some((t) => TRANSITIONAL_STATES.has(t.state)) ? 2000 : 10_000;
}

export function useTenant(name: string) {
  return useQuery({
    queryKey: tenantKey(name),
    queryFn: () => api.get<Tenant>(`/tenants/${encodeURIComponent(name)}`),
    retry: (count, error) => (error as { status?: number }).status !== 404 && count < 2,
  });
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/**
 * Follows a tenant live: the server-sent events stream sends a `tenant` snapshot on connect
 * and after each state change, and every timeline `event`. The browser reconnects by itself
 * (with Last-Event-ID, so nothing is missed). Only opened once the tenant is known to exist.
 */
export function useTenantStream(name: string, enabled: boolean): { events: TenantEvent[]; status: StreamStatus } {
  const client = useQueryClient();
  const [events, setEvents] = useState<TenantEvent[]>([]);
  const [status, setStatus] = useState<StreamStatus>('connecting');

  useEffect(() => {
    if (!enabled) return;
    setEvents([]);
    setStatus('connecting');
    const source = new EventSource(`/api/v1/tenants/${encodeURIComponent(name)}/events`);
    source.addEventListener('open', () => setStatus('live'));
    source.addEventListener('error', () => setStatus(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
    source.addEventListener('tenant', (message) => {
      const tenant = JSON.parse((message as MessageEvent<string>).data) as Tenant;
      storeTenant(client, tenant);
    });
    source.addEventListener('event', (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as TenantEvent;
      setEvents((current) => (current.some((e) => e.id === event.id) ? current : [...current, event]));
      client.setQueryData<TenantEvent[]>(tenantEventsKey(name), (current) =>
        current && !current.some((e) => e.id === event.id) ? [...current, event] : current,
      );
    });
    return () => {
      source.close();
      setStatus('closed');
    };
  }, [name, enabled, client]);

  return { events, status };
}

/** URL segment of each lifecycle action the API accepts with POST /tenants/{name}/{segment}. */
export const ACTION_SEGMENTS: Record<string, string> = {
  start: 'start',
  stop: 'stop',
  restart: 'restart',
  schedule_delete: 'schedule-delete',
  cancel_delete: 'cancel-delete',
  reactivate: 'reactivate',
  retry: 'retry',
  suspend: 'suspend',
  resume: 'resume',
  terminate: 'terminate',
  force_delete: 'force-delete',
};

export const ACTION_LABELS: Record<string, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  schedule_delete: 'Delete…',
  cancel_delete: 'Cancel deletion',
  reactivate: 'Reactivate',
  retry: 'Retry',
  suspend: 'Suspend',
  resume: 'Resume',
  terminate: 'Terminate…',
  force_delete: 'Delete now…',
  duplicate: 'Duplicate…',
};

/** Actions that lose service or data: asked for confirmation first. */
export const CONFIRM_ACTIONS: Record<string, { title: string; body: string; confirm: string }> = {
  schedule_delete: {
    title: 'Delete this instance?',
    body: 'It stops now and is deleted after 12 hours. Until then you can cancel the deletion.',
    confirm: 'Schedule deletion',
  },
  terminate: {
    title: 'Terminate this tenant?',
    body: 'It stops serving at once. Its data is kept for 30 days and it can be reactivated until then.',
    confirm: 'Terminate',
  },
  force_delete: {
    title: 'Delete this tenant now?',
    body: 'Its database, files and processes are removed at once. This cannot be undone.',
    confirm: 'Delete now',
  },
  suspend: {
    title: 'Suspend this tenant?',
    body: 'It stops serving until an operator resumes it. Data is kept.',
    confirm: 'Suspend',
  },
};

/**
 * A lifecycle action. Not optimistic: the platform decides whether the action is allowed in the
 * tenant's current state, and its 202 answer carries the new state, which is stored at once.
 */
export function useTenantAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, action, reason }: { name: string; action: string; reason?: string }) =>
      api.post<Accepted>(`/tenants/${encodeURIComponent(name)}/${ACTION_SEGMENTS[action] ?? action}`, reason ? { reason } : undefined),
    onSuccess: (result) => {
      storeTenant(client, result.tenant);
      void client.invalidateQueries({ queryKey: ['tenants'] });
      void client.invalidateQueries({ queryKey: tenantEventsKey(result.tenant.name) });
    },
  });
}
