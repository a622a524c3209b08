/**
 * How long `saasctl` takes, command by command, and where that time goes: Node.js itself, the
 * bin/saasctl wrapper (which picks the Node.js to run), loading the CLI's modules, and the API
 * call. `tenant list` runs against a platform this benchmark serves (`saasctl serve` on a
 * temporary DATA_DIR) as a logged-in operator. BENCH_ROOT measures another checkout (built).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../src/system/index.js';
import { loadAverage } from './lib.js';
import { benchRoot, exitOf, summary, tempDirectory, timed, waitReady } from './processes.js';

const runs = Number(process.env.BENCH_RUNS ?? 10);
const node = process.execPath;
const saasctl = join(benchRoot, 'bin/saasctl');
const mainJs = join(benchRoot, 'dist/cli/main.js');
if (!existsSync(mainJs)) {
  console.error(`${mainJs} is missing: build that checkout first (npm start once, or npm run build)`);
  process.exit(1);
}

async function measure(label: string, command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await timed(command, args, { env, input });
    if (run.code !== 0) throw new Error(`${label}: exit ${run.code}\n${run.stderr}`);
    times.push(run.ms);
  }
  console.log(`${label.padEnd(46)} ${summary(times)}`);
}

const dataDir = tempDirectory('saas-bench-cli-');
chmodSync(dataDir, 0o755);
const port = await freePort();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  SAASCTL_CONFIG: join(dataDir, 'credentials.json'),
};
delete env.SAASCTL_URL;

console.log(`checkout: ${benchRoot}`);
console.log(`load average before: ${loadAverage()}`);
const platform = spawn(saasctl, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
try {
  await waitReady(`http://127.0.0.1:${port}`, platform);
  const password = 'Bench-Operator-Pass-1';
  const created = await timed(saasctl, ['operator', 'create', '--email', 'ops@example.com', '--name', 'Ops', '--password-stdin'], {
    env,
    input: password,
  });
  if (created.code !== 0) throw new Error(`operator create: ${created.stderr}`);
  const login = await timed(saasctl, ['login', '--email', 'ops@example.com', '--password-stdin'], { env, input: password });
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);

  await measure('node -e 0 (Node.js alone)', node, ['-e', '0'], env);
  await measure('node dist/cli/main.js --help (no wrapper)', node, [mainJs, '--help'], env);
  await measure('bin/saasctl --help', saasctl, ['--help'], env);
  await measure('bin/saasctl tenant list (logged in, 0 tenants)', saasctl, ['tenant', 'list'], env);
  await measure('bin/saasctl plans list', saasctl, ['plans', 'list'], env);
  console.log(`load average after: ${loadAverage()}`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  platform.kill('SIGTERM');
  await exitOf(platform);
  rmSync(dataDir, { recursive: true, force: true });
}
