/**
 * `npm start` until /readyz answers 200, as an operator (or a process manager) starts the platform:
 * npm, the set-up script, the build check, then the platform and its PostgreSQL. Then SIGTERM to
 * npm's pid, timed until npm exits, with a check that no PostgreSQL is left.
 *
 * Scenarios: a first start (empty DATA_DIR: initdb), warm starts (nothing changed), and starts
 * after one source file was touched (a rebuild). BENCH_ROOT measures another checkout.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../src/system/index.js';
import { loadAverage, processTree } from './lib.js';
import { benchRoot, exitOf, livePostmaster, summary, tempDirectory, waitReady } from './processes.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const dataDir = tempDirectory('saas-bench-start-');
chmodSync(dataDir, 0o755);
const logFile = join(dataDir, 'npm-start.log');

async function start(): Promise<{ readyMs: number; stopMs: number; leftBehind: number }> {
  const port = await freePort();
  const out = openSync(logFile, 'a');
  const started = performance.now();
  const npm = spawn('npm', ['start'], {
    cwd: benchRoot,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ODOO_AUTO_INSTALL: process.env.ODOO_AUTO_INSTALL ?? 'false',
    },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  try {
    await waitReady(`http://127.0.0.1:${port}`, npm);
  } catch (error) {
    npm.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; see ${logFile}`);
  }
  const readyMs = performance.now() - started;
  const postmaster = livePostmaster(dataDir);
  const chain = processTree(npm.pid as number).slice(1);
  const stopping = performance.now();
  npm.kill('SIGTERM');
  await exitOf(npm);
  const stopMs = performance.now() - stopping;
  // What npm's exit left running (before the fix: the platform and its PostgreSQL). Stopped here
  // the way they should have been, so the next run starts clean.
  const left = [...chain, ...(postmaster ? [postmaster] : [])].filter(alive);
  for (const pid of left) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 120_000;
  while (left.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { readyMs, stopMs, leftBehind: left.length };
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

console.log(`checkout: ${benchRoot}`);
console.log(`load average before: ${loadAverage()}`);
try {
  const first = await start();
  console.log(`first start (initdb; a build when needed): ready in ${(first.readyMs / 1000).toFixed(3)} s`);

  const warm = { ready: [] as number[], stop: [] as number[], leftBehind: 0 };
  for (let i = 0; i < runs; i++) {
    const run = await start();
    warm.ready.push(run.readyMs);
    warm.stop.push(run.stopMs);
    if (run.leftBehind > 0) warm.leftBehind += 1;
  }
  console.log(`warm start, nothing changed, npm start -> /readyz 200: ${summary(warm.ready)}`);
  console.log(`SIGTERM to npm's pid -> npm exited:                    ${summary(warm.stop)}`);
  console.log(`  runs whose platform or PostgreSQL outlived npm:     ${warm.leftBehind} of ${runs}`);

  const touched: number[] = [];
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const now = new Date();
    utimesSync(join(benchRoot, 'src/main.ts'), now, now);
    touched.push((await start()).readyMs);
  }
  console.log(`start after touching src/main.ts (a build):          ${summary(touched)}`);
  console.log(`load average after: ${loadAverage()}`);
  rmSync(dataDir, { recursive: true, force: true });
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
