import { z } from 'zod';
import { withConnection } from '../postgres/index.js';
import type { ProvisioningDependencies } from './dependencies.js';

/**
 * What an operator sees of each Odoo pool (saasctl doctor, the console's Pools page): its
 * tenants, processes and memory, the PostgreSQL connections its role holds against its budget
 * (docs/architecture.md, "Connection budget"), and its cron lag: how long the oldest due
 * scheduled action of its tenants has waited (a pool whose crons do not run shows it growing).
 */
export const poolReportSchema = z
  .object({
    name: z.string(),
    runtime: z.string(),
    databaseServerId: z.string(),
    databaseServer: z.string().describe('name of the database server'),
    odooSeries: z.string().nullable().describe('the Odoo series its processes run (a pool serves one series)'),
    tenants: z.number().int(),
    processes: z.array(
      z.object({
        unit: z.string().describe('web or cron'),
        state: z.string(),
        pid: z.number().int().nullable(),
        processes: z.number().int().describe('the unit and its forked workers'),
        memoryBytes: z.number().int().nullable().describe('resident memory of all of them'),
      }),
    ),
    memoryBytes: z.number().int().nullable(),
    webWorkers: z
      .object({
        min: z.number().int(),
        max: z.number().int(),
        target: z.number().int().describe('workers the load asks for now'),
        population: z.number().int().describe('workers Odoo was told to keep (SIGTTIN / SIGTTOU)'),
        alive: z.number().int().describe('HTTP worker processes alive'),
      })
      .nullable()
      .describe('web workers sized by load (docs/operations/tenants.md); null: a fixed count'),
    connections: z.object({
      used: z.number().int().nullable().describe("sessions of the pool's role on its server (pg_stat_activity)"),
      budget: z.number().int().describe('what its processes may hold at most: db_maxconn x processes'),
      serverMax: z.number().int().nullable().describe("the server's max_connections"),
    }),
    cron: z.object({
      oldestDueAt: z.string().nullable().describe('UTC nextcall of the oldest active ir.cron that is due, across its tenants'),
      lagSeconds: z.number().int().nullable(),
      unreadable: z.number().int().describe('tenant databases that could not be read'),
    }),
  })
  .meta({ id: 'PoolReport' });
export type PoolReport = z.infer<typeof poolReportSchema>;

/** Tenant databases read at once for the cron lag. */
const CONCURRENCY = 4;

async function oldestDueCron(adminUrl: string, databases: string[]): Promise<{ oldest: Date | undefined; unreadable: number }> {
  let oldest: Date | undefined;
  let unreadable = 0;
  const queue = [...databases];
  const worker = async () => {
    for (let database = queue.shift(); database !== undefined; database = queue.shift()) {
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      try {
        const due = await withConnection(url.toString(), (client) =>
          client.query<{ due: Date | null }>(
            "SELECT min(nextcall) AT TIME ZONE 'UTC' AS due FROM ir_cron WHERE active AND nextcall <= (now() AT TIME ZONE 'UTC')",
          ),
        );
        const value = due.rows[0]?.due;
        if (value && (!oldest || value < oldest)) oldest = value;
      } catch {
        unreadable += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { oldest, unreadable };
}

export async function poolReports(deps: Pick<ProvisioningDependencies, 'runtimes' | 'servers'>, now = new Date()): Promise<PoolReport[]> {
  const reports: PoolReport[] = [];
  for (const runtime of deps.runtimes.all()) {
    for (const pool of (await runtime.sharedWorkloads?.()) ?? []) {
      const server = await deps.servers.get(pool.databaseServerId);
      const adminUrl = await deps.servers.adminUrl(pool.databaseServerId);
      const counts = await withConnection(adminUrl, async (client) => {
        const used = await client.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_stat_activity WHERE usename = $1', [
          pool.databaseRole,
        ]);
        const max = await client.query<{ max_connections: string }>('SHOW max_connections');
        return { used: used.rows[0]?.count ?? 0, max: Number(max.rows[0]?.max_connections) };
      }).catch(() => ({ used: null, max: null }));
      const cron = await oldestDueCron(
        adminUrl,
        pool.tenants.map((tenant) => tenant.databaseName),
      );
      const memories = pool.processes.flatMap((process) => process.memoryBytes ?? []);
      reports.push({
        name: pool.name,
        runtime: runtime.kind,
        databaseServerId: pool.databaseServerId,
        databaseServer: server.name,
        odooSeries: pool.odooSeries ?? null,
        tenants: pool.tenants.length,
        processes: pool.processes.map((process) => ({
          unit: process.unit,
          state: process.state,
          pid: process.pid ?? null,
          processes: process.processes,
          memoryBytes: process.memoryBytes ?? null,
        })),
        memoryBytes: memories.length > 0 ? memories.reduce((sum, bytes) => sum + bytes, 0) : null,
        webWorkers: pool.webWorkers ?? null,
        connections: { used: counts.used, budget: pool.connectionBudget, serverMax: counts.max },
        cron: {
          oldestDueAt: cron.oldest ? cron.oldest.toISOString() : null,
          lagSeconds: cron.oldest ? Math.max(0, Math.round((now.getTime() - cron.oldest.getTime()) / 1000)) : null,
          unreadable: cron.unreadable,
        },
      });
    }
  }
  return reports;
}
