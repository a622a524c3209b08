/**
 * Supervision of one Odoo process: spawn it (no shell), send its output to the workload's log,
 * wait until `/web/health` answers, restart it with back-off when it exits unexpectedly, kill
 * and restart it when it stops answering, and stop it (SIGTERM, then SIGKILL) on request.
 *
 * Each process is started in a process group of its own (`detached`): signals then reach Odoo's
 * prefork workers and a launcher's interpreter too, an orphaned worker cannot keep the port after
 * its master died, and a Ctrl-C aimed at the platform does not hit Odoo before the platform has
 * decided how to stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { UnavailableError } from '../../errors/index.js';
import type { Logger } from '../../logging/index.js';
import type { WorkloadState } from '../types.js';
import { type BackoffPolicy, failuresAfterExit, restartDelayMs } from './backoff.js';
import type { WorkloadCgroup } from './cgroups.js';
import { type Clock, sleep } from './clock.js';
import { type HealthCheckPolicy, type HealthFailures, judgeHealthCheck, NO_HEALTH_FAILURES } from './health.js';
import { processTree, signalGroup, treeCpuMs, treeResidentBytes } from './proc.js';

export interface SupervisedProcessOptions {
  /** Names the process in the platform's log, e.g. `pool-3f2a9c1e-1 web`. */
  label: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  pidFile: string;
  logFile: string;
  /** URL that must answer 200 for the process to count as running; without one, running = alive. */
  healthUrl?: string;
  cgroup?: WorkloadCgroup;
  logger: Logger;
  clock: Clock;
  backoff: BackoffPolicy;
  health: HealthCheckPolicy;
  /** Deadline for a (re)started process to become healthy before it is killed and retried. */
  startTimeoutMs: number;
  /** Failed starts or crashes in a row after which the process is left `failed`. */
  maxFailuresInARow: number;
  stopGraceMs: number;
}

export interface SupervisedProcessStatus {
  state: WorkloadState;
  pid?: number;
  restarts: number;
  lastExitReason?: string;
  lastExitAt?: number;
  memoryBytes?: number;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

export class SupervisedProcess {
  private state: WorkloadState = 'stopped';
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  /** Incremented per spawn: callbacks of an earlier child are ignored. */
  private generation = 0;
  private exitedGeneration = 0;
  private exitWaiters: Array<() => void> = [];
  private runningWaiters: Waiter[] = [];
  private restarts = 0;
  private failuresInARow = 0;
  private healthFailures: HealthFailures = NO_HEALTH_FAILURES;
  /** CPU time of the process tree at the last health check (see health.ts). */
  private cpuMsAtLastCheck = 0;
  private healthySince: number | undefined;
  private lastExitReason: string | undefined;
  private lastExitAt: number | undefined;
  /** Why we killed the current child ourselves (it then exits by SIGKILL, which says little). */
  private killReason: string | undefined;
  private oomKillsAtSpawn = 0;
  private stopping = false;
  private cancelRestart: (() => void) | undefined;
  private cancelHealthCheck: (() => void) | undefined;

  constructor(private readonly options: SupervisedProcessOptions) {}

  /** Starts the process unless it runs, and resolves once it is healthy (rejects after `timeoutMs`). */
  async ensureRunning(timeoutMs = this.options.startTimeoutMs): Promise<void> {
    if (this.state === 'running') return;
    if (this.state === 'stopped' || this.state === 'failed') {
      this.stopping = false;
      this.failuresInARow = 0;
      this.spawnNow();
    }
    await this.waitUntilRunning(timeoutMs);
  }

  status(): SupervisedProcessStatus {
    return {
      state: this.state,
      pid: this.pid,
      restarts: this.restarts,
      lastExitReason: this.lastExitReason,
      lastExitAt: this.lastExitAt,
      memoryBytes: this.pid === undefined ? undefined : treeResidentBytes(this.pid),
    };
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelRestart?.();
    this.cancelHealthCheck?.();
    const pid = this.pid;
    if (pid === undefined || this.child === undefined) {
      this.settleStopped();
      return;
    }
    const exited = this.waitForExit();
    signalGroup(pid, 'SIGTERM');
    if (!(await this.within(exited, this.options.stopGraceMs))) {
      this.options.logger.warn({ process: this.options.label, pid }, 'Odoo did not stop within the grace period; killing it');
      signalGroup(pid, 'SIGKILL');
      await this.within(exited, 5_000);
    }
    // Members of the group that outlived the leader (a worker, a launcher's child) go too.
    signalGroup(pid, 'SIGKILL');
    this.settleStopped();
  }

  private settleStopped(): void {
    this.state = 'stopped';
    this.removePidFile();
    this.rejectWaiters(new UnavailableError(`${this.options.label} was stopped`));
  }

  /** Whether `promise` settles within `ms` (the timer is cancelled either way). */
  private within(promise: Promise<void>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.options.clock.schedule(ms, () => resolve(false));
      void promise.then(() => {
        cancel();
        resolve(true);
      });
    });
  }

  private waitForExit(): Promise<void> {
    if (this.child === undefined) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private waitUntilRunning(timeoutMs: number): Promise<void> {
    if (this.state === 'running') return Promise.resolve();
    if (this.state === 'failed') return Promise.reject(this.failedError());
    return new Promise((resolve, reject) => {
      const cancel = this.options.clock.schedule(timeoutMs, () => {
        this.runningWaiters = this.runningWaiters.filter((w) => w !== waiter);
        reject(
          new UnavailableError(
            `${this.options.label} did not become healthy within ${Math.round(timeoutMs / 1000)} s` +
              (this.lastExitReason ? ` (last exit: ${this.lastExitReason})` : '') +
              '; it keeps being restarted in the background',
          ),
        );
      });
      const waiter: Waiter = {
        resolve: () => {
          cancel();
          resolve();
        },
        reject: (error) => {
          cancel();
          reject(error);
        },
      };
      this.runningWaiters.push(waiter);
    });
  }

  private failedError(): UnavailableError {
    return new UnavailableError(
      `${this.options.label} failed ${this.failuresInARow} times in a row and is no longer restarted` +
        (this.lastExitReason ? ` (last exit: ${this.lastExitReason})` : ''),
    );
  }

  private resolveWaiters(): void {
    const waiters = this.runningWaiters;
    this.runningWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.runningWaiters;
    this.runningWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private spawnNow(): void {
    const { options } = this;
    this.cancelRestart = undefined;
    this.generation += 1;
    const generation = this.generation;
    this.state = 'starting';
    this.healthySince = undefined;
    this.healthFailures = NO_HEALTH_FAILURES;
    this.killReason = undefined;
    this.oomKillsAtSpawn = options.cgroup?.oomKills() ?? 0;

    let child: ChildProcess;
    let output: number;
    try {
      output = openSync(options.logFile, 'a', 0o600);
    } catch (error) {
      // Runs from a restart timer too: a failure here must become an exit, never an exception.
      this.onExit(generation, `could not open its log: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', output, output],
      });
    } catch (error) {
      this.child = undefined;
      this.onExit(generation, `could not be started: ${error instanceof Error ? error.message : String(error)}`);
      return;
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(output);
    }
    this.child = child;
    child.once('error', (error) => this.onExit(generation, `could not be started: ${error.message}`));
    child.once('exit', (code, signal) => this.onExit(generation, describeExit(code, signal)));
    const pid = child.pid;
    if (pid === undefined) return; // spawning failed: 'error' follows
    this.pid = pid;
    try {
      writeFileSync(options.pidFile, `${pid}\n`, { mode: 0o600 });
    } catch (error) {
      options.logger.warn(
        { process: options.label, pid, err: error },
        'could not write the pid file; a crash of the platform would leave this process behind',
      );
    }
    this.placeInCgroup(pid);
    options.logger.info({ process: options.label, pid }, 'Odoo process started');
    if (options.healthUrl) void this.awaitHealthy(generation);
    else this.markRunning(generation);
  }

  private placeInCgroup(pid: number): void {
    const { cgroup } = this.options;
    if (!cgroup) return;
    try {
      // Odoo forks its workers only after loading, long after this; a launcher that forked
      // already is moved along (children inherit the group only from the moment of fork).
      for (const member of processTree(pid)) cgroup.addProcess(member);
    } catch (error) {
      // A process that already exited (a failed start) cannot be moved; its exit is reported.
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      this.options.logger.warn(
        { process: this.options.label, pid, err: error },
        'could not move Odoo into its cgroup; OS limits do not apply to it',
      );
    }
  }

  private async awaitHealthy(generation: number): Promise<void> {
    const { clock, startTimeoutMs, health } = this.options;
    const deadline = clock.now() + startTimeoutMs;
    while (generation === this.generation && this.state === 'starting') {
      if (await this.probe()) {
        if (generation === this.generation && this.state === 'starting') this.markRunning(generation);
        return;
      }
      if (clock.now() >= deadline) {
        this.killForRestart(generation, `not healthy within ${Math.round(startTimeoutMs / 1000)} s of starting`);
        return;
      }
      await sleep(clock, health.startPollMs);
    }
  }

  private markRunning(generation: number): void {
    if (generation !== this.generation) return;
    this.state = 'running';
    this.healthySince = this.options.clock.now();
    this.cpuMsAtLastCheck = this.pid === undefined ? 0 : treeCpuMs(this.pid);
    this.resolveWaiters();
    if (this.options.healthUrl) this.scheduleHealthCheck(generation);
  }

  private scheduleHealthCheck(generation: number): void {
    const { clock, health } = this.options;
    this.cancelHealthCheck = clock.schedule(health.intervalMs, () => {
      void (async () => {
        if (generation !== this.generation || this.state !== 'running') return;
        const healthy = await this.probe();
        if (generation !== this.generation || this.state !== 'running') return;
        const cpuMs = this.pid === undefined ? 0 : treeCpuMs(this.pid);
        const verdict = judgeHealthCheck(health, this.healthFailures, healthy, cpuMs - this.cpuMsAtLastCheck);
        this.cpuMsAtLastCheck = cpuMs;
        this.healthFailures = verdict.failures;
        if (!healthy) {
          this.options.logger.warn(
            { process: this.options.label, pid: this.pid, failures: verdict.failures.failed, idle: verdict.failures.idle },
            'Odoo health check failed',
          );
        }
        if (verdict.kill) {
          this.killForRestart(generation, verdict.reason);
          return;
        }
        this.scheduleHealthCheck(generation);
      })();
    });
  }

  private async probe(): Promise<boolean> {
    const { healthUrl, health } = this.options;
    if (!healthUrl) return this.child !== undefined;
    try {
      const response = await fetch(healthUrl, { signal: AbortSignal.timeout(health.requestTimeoutMs) });
      await response.body?.cancel();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  private killForRestart(generation: number, reason: string): void {
    if (generation !== this.generation || this.pid === undefined) return;
    this.killReason = reason;
    this.options.logger.warn({ process: this.options.label, pid: this.pid, reason }, 'killing Odoo to restart it');
    signalGroup(this.pid, 'SIGKILL');
  }

  private onExit(generation: number, description: string): void {
    // 'error' and 'exit' may both arrive for one child; only the first counts.
    if (generation !== this.generation || this.exitedGeneration === generation) return;
    this.exitedGeneration = generation;
    const { options } = this;
    this.cancelHealthCheck?.();
    const pid = this.pid;
    // Leftovers of the group (workers orphaned by a killed master) would hold the port.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    this.child = undefined;
    this.pid = undefined;
    this.removePidFile();
    const exitWaiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const resolve of exitWaiters) resolve();
    if (this.stopping) return;

    const now = options.clock.now();
    let reason = this.killReason ?? description;
    if (options.cgroup && options.cgroup.oomKills() > this.oomKillsAtSpawn) {
      reason = `${reason} (out of memory: the kernel killed it at the workload's memory limit)`;
    }
    this.lastExitReason = reason;
    this.lastExitAt = now;
    this.failuresInARow = failuresAfterExit(options.backoff, this.failuresInARow, this.healthySince, now);
    if (this.failuresInARow > options.maxFailuresInARow) {
      this.state = 'failed';
      options.logger.error({ process: options.label, pid, reason, failures: this.failuresInARow }, 'Odoo keeps failing; no more restarts');
      this.rejectWaiters(this.failedError());
      return;
    }
    this.restarts += 1;
    this.state = 'restarting';
    const delay = restartDelayMs(options.backoff, this.failuresInARow);
    options.logger.warn(
      { process: options.label, pid, reason, restartInMs: delay, restarts: this.restarts },
      'Odoo exited unexpectedly; restarting',
    );
    this.cancelRestart = options.clock.schedule(delay, () => {
      if (!this.stopping && this.state === 'restarting') this.spawnNow();
    });
  }

  private removePidFile(): void {
    rmSync(this.options.pidFile, { force: true });
  }
}
