import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/index.js';
import type { TenantRow } from '../db/index.js';
import { type DomainEventSubscriptions, tenantIdOf } from '../events/index.js';
import type { TenantService } from '../tenants/index.js';

/** Open streams, ended when the server shuts down (they would otherwise keep it open forever). */
const openStreams = new Set<() => void>();

export function endAllEventStreams(): void {
  for (const end of [...openStreams]) end();
}

/**
 * Server-sent events for one tenant: first every event after `afterId` (so a reconnecting
 * client with Last-Event-ID misses nothing), then live ones as any replica records them (the
 * tenant's domain events wake it; it reads the timeline itself, so a repeated or coalesced
 * wake-up sends nothing twice), each state change followed by a fresh `tenant` snapshot.
 */
export function streamTenantEvents(input: {
  request: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  tenant: TenantRow;
  afterId: number;
  tenants: TenantService;
  events: DomainEventSubscriptions;
}): void {
  const { reply, tenant, tenants } = input;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(input.request.id),
    // Hijacked: the security headers of server.ts are not added to this answer by themselves.
    'x-content-type-options': 'nosniff',
  });
  let lastSent = input.afterId;
  let queue: Promise<void> = Promise.resolve();
  const send = (event: string, data: unknown, id?: number) => {
    raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendSnapshot = async () => {
    const row = await tenants.rowById(tenant.id);
    if (row) send('tenant', await tenants.view(row, input.principal.role));
  };
  // Events are delivered in order: each catch-up runs after the previous one.
  const catchUp = () => {
    queue = queue
      .then(async () => {
        const events = await tenants.events(input.principal, tenant.name, { afterId: lastSent });
        for (const event of events) {
          send('event', event, event.id);
          lastSent = event.id;
        }
        if (events.some((e) => e.type === 'state')) await sendSnapshot();
      })
      .catch(() => undefined);
  };
  const unsubscribe = input.events.subscribe(`tenant-events-stream:${tenant.id}`, (event) => {
    // A change of upstream writes no timeline entry: a catch-up then could only overtake the
    // gateway, reading a state whose event the route table has not had yet.
    if (tenantIdOf(event) === tenant.id && event.type !== 'tenant.upstream_changed') catchUp();
  });
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  const close = () => {
    clearInterval(heartbeat);
    unsubscribe();
    openStreams.delete(end);
  };
  const end = () => {
    close();
    raw.end();
  };
  openStreams.add(end);
  raw.on('close', close);
  queue = queue.then(sendSnapshot).catch(() => undefined);
  catchUp();
}
