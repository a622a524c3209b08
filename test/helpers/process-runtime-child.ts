/**
 * A platform stand-in for the process runtime tests: runs a process runtime in a process of its
 * own so the test can kill it with SIGKILL and leave its Odoo processes behind, as a crashed
 * platform would. Argument: JSON { adminUrl, password, options, specs }. Prints one JSON line
 * `{ "pids": { tenantId: pid } }` once every tenant is served, then waits to be killed.
 */
import { createLogger } from '../../src/logging/index.js';
import { createProcessRuntime, type TenantServeSpec } from '../../src/runtimes/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';
import { sqlPoolAccess } from './pool-access.js';

interface ChildInput {
  adminUrl: string;
  password: string;
  odooBin: string;
  workDir: string;
  odooDataDir: string;
  env: Record<string, string>;
  specs: TenantServeSpec[];
}

const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;
const runtime = createProcessRuntime({
  odooBin: input.odooBin,
  workDir: input.workDir,
  odooDataDir: input.odooDataDir,
  env: input.env,
  logger: createLogger('warn', process.stderr),
  poolAccess: sqlPoolAccess(input.adminUrl, input.password),
  poolDbfilter: POOL_DBFILTER,
  desiredTenants: async () => input.specs,
  poolWorkers: 2,
  healthTimeoutMs: 20_000,
});
await runtime.start();
const pids: Record<string, number | undefined> = {};
for (const spec of input.specs) {
  await runtime.serve(spec);
  pids[spec.tenantId] = (await runtime.status(spec.tenantId))?.pid;
}
process.stdout.write(`${JSON.stringify({ pids })}\n`);
setInterval(() => {}, 60_000);
