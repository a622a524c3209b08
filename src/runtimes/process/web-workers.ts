/**
 * Applies worker-scaling.ts to a running pool: reads the pool's load every tick, moves Odoo's
 * worker count one step with a signal to its prefork master, and retires a worker Odoo keeps.
 *
 * Odoo's PreforkServer (odoo/service/server.py): SIGTTIN raises its `population` and the master
 * spawns a worker; SIGTTOU only lowers it: no worker is stopped, the extra one would live until
 * it exits by itself (limit_request, memory limits). So once the workers outnumber the
 * population the platform sends SIGINT to one of them, which a worker takes as "finish the
 * current request, then exit", and the master does not replace it. The largest one goes: it
 * holds the most registries. A restarted master starts again with its configured `workers` (the
 * minimum), and the target is applied again from there.
 */
import type { Logger } from '../../logging/index.js';
import type { LoadReading } from '../upstream-load.js';
import type { Clock } from './clock.js';
import { commandLine, parentPid, processTree, residentBytes, signalProcess } from './proc.js';
import { decideWorkers, initialScalingState, nextSignal, type ScalingState, type WorkerScalingPolicy } from './worker-scaling.js';

/** Ticks with fewer workers alive than asked for before they are asked for again (see tick). */
const SHORT_TICKS = 5;

export interface PreforkProcesses {
  master: number;
  httpWorkers: number[];
}

/**
 * Odoo's prefork master and HTTP workers among a unit's processes. A worker is forked without a
 * new command line (setproctitle, when installed, names it `odoo: WorkerHTTP`); the evented
 * process is started with its own (`odoo-bin gevent ...`), and a launcher that execs keeps none.
 */
export function preforkProcesses(root: number): PreforkProcesses | undefined {
  const members = processTree(root).map((pid) => ({ pid, ppid: parentPid(pid), command: commandLine(pid)?.join(' ') ?? '' }));
  const commandOf = new Map(members.map((member) => [member.pid, member.command]));
  const workers = members.filter(
    (member) =>
      member.command.includes('WorkerHTTP') ||
      (member.ppid !== undefined &&
        member.pid !== root &&
        commandOf.get(member.ppid) === member.command &&
        !member.command.includes('WorkerCron')),
  );
  const master = workers[0]?.ppid;
  if (master === undefined) return undefined;
  return { master, httpWorkers: workers.filter((worker) => worker.ppid === master).map((worker) => worker.pid) };
}

export interface WebWorkerScalerOptions {
  label: string;
  policy: WorkerScalingPolicy;
  /** The `workers` Odoo is started with. */
  startWorkers: number;
  tickMs: number;
  clock: Clock;
  logger: Logger;
  /** The web unit's process, undefined while it is not running. */
  rootPid(): number | undefined;
  load(): LoadReading;
  /** The population Odoo was told to keep (after each change, and after a restart). */
  onWorkers(workers: number): void;
}

export interface WebWorkerStatus {
  /** Workers the load asks for. */
  target: number;
  /** Odoo's population, as signalled. */
  population: number;
  /** HTTP worker processes alive now. */
  alive: number;
}

export class WebWorkerScaler {
  private state: ScalingState;
  private population: number;
  private master: number | undefined;
  /** A worker told to exit (and the workers alive then): no other is, until it has. */
  private retiring: { pid: number; aliveBefore: number } | undefined;
  private cancel: (() => void) | undefined;
  /** Ticks in a row with fewer workers alive than the population, no signal sent. */
  private shortTicks = 0;

  constructor(private readonly options: WebWorkerScalerOptions) {
    this.state = initialScalingState(options.policy, options.clock.now());
    this.population = options.startWorkers;
  }

  start(): void {
    if (this.cancel) return;
    const loop = () => {
      this.cancel = this.options.clock.schedule(this.options.tickMs, () => {
        try {
          this.tick();
        } catch (error) {
          // From a timer: an exception here would take the platform down.
          this.options.logger.warn(
            { process: this.options.label, err: error },
            'sizing the pool workers failed; retrying at the next tick',
          );
        }
        if (this.cancel) loop();
      });
    };
    loop();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  status(): WebWorkerStatus {
    const root = this.options.rootPid();
    const alive = root === undefined ? 0 : (preforkProcesses(root)?.httpWorkers.length ?? 0);
    return { target: this.state.target, population: this.population, alive };
  }

  /** One reading and at most one signal (exported through the class for tests). */
  tick(): void {
    const { options } = this;
    const root = options.rootPid();
    const prefork = root === undefined ? undefined : preforkProcesses(root);
    if (!prefork) return;
    if (prefork.master !== this.master) {
      // A new master (first tick, or Odoo restarted): it runs its configured workers.
      this.master = prefork.master;
      this.population = options.startWorkers;
      this.retiring = undefined;
      options.onWorkers(this.population);
    }
    this.state = decideWorkers(options.policy, this.state, { now: options.clock.now(), peak: options.load().peak });
    // Odoo spawns a worker within a round of its loop: fewer alive for SHORT_TICKS ticks in a
    // row means it did not act on a SIGTTIN (signals of one kind sent close together arrive as
    // one). Counted from what runs, the missing ones are asked for again below.
    this.shortTicks = prefork.httpWorkers.length < this.population ? this.shortTicks + 1 : 0;
    if (this.shortTicks >= SHORT_TICKS) {
      options.logger.warn(
        { process: options.label, workers: prefork.httpWorkers.length, population: this.population },
        'fewer Odoo workers than asked for: asking again',
      );
      this.population = prefork.httpWorkers.length;
      this.shortTicks = 0;
    }
    const signal = nextSignal(this.population, this.state.target);
    if (signal && signalProcess(prefork.master, signal)) {
      this.population += signal === 'SIGTTIN' ? 1 : -1;
      this.shortTicks = 0;
      options.logger.info(
        { process: options.label, workers: this.population, target: this.state.target },
        signal === 'SIGTTIN' ? 'pool under load: one more Odoo worker' : 'pool idle: one Odoo worker fewer',
      );
      options.onWorkers(this.population);
      return;
    }
    const retired = this.retiring;
    if (retired !== undefined && prefork.httpWorkers.includes(retired.pid)) return;
    this.retiring = undefined;
    const alive = prefork.httpWorkers.length;
    if (retired !== undefined && alive >= retired.aliveBefore && alive > this.population) {
      // Odoo replaced the worker: its population is above what it was told (a SIGTTOU it dropped,
      // or someone else's SIGTTIN). Said again, rather than stopping a worker per tick for ever.
      options.logger.warn(
        { process: options.label, workers: alive, population: this.population },
        'Odoo replaced a retired worker: telling its master again to keep fewer',
      );
      signalProcess(prefork.master, 'SIGTTOU');
      return;
    }
    if (alive > this.population) {
      const largest = [...prefork.httpWorkers].sort((a, b) => residentBytes(b) - residentBytes(a))[0];
      if (largest !== undefined && signalProcess(largest, 'SIGINT')) this.retiring = { pid: largest, aliveBefore: alive };
    }
  }
}
