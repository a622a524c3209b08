import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { runAttempt, runSteps, type Step, type StepJournal } from '../../src/provisioning/index.js';

/**
 * The step runner on its own: steps here are plain objects over a small world (a set of things
 * made), the journal remembers in memory what the tenant row would. Provisioning's real steps
 * run through the same runner in test/e2e (tenants.fake-odoo, crash-resume).
 */
interface World {
  made: Set<string>;
  runs: string[];
}

/** A step that makes `thing`; done means `thing` exists. */
function makes(thing: string, options: { checked?: boolean; fails?: boolean } = {}): Step<World> {
  return {
    name: thing,
    async run(world) {
      world.runs.push(thing);
      if (options.fails) throw new Error(`${thing} broke`);
      world.made.add(thing);
    },
    ...(options.checked === false
      ? {}
      : { endStateProblems: async (world: World) => (world.made.has(thing) ? [] : [`${thing} is missing`]) }),
  };
}

function memoryJournal(finished: string[] = []): StepJournal & { recorded: string[] } {
  const recorded: string[] = [];
  return {
    recorded,
    finishedBefore: (step) => finished.includes(step),
    async record(step) {
      recorded.push(step);
    },
  };
}

const world = (made: string[] = []): World => ({ made: new Set(made), runs: [] });
const logger = createLogger('silent');

describe('runSteps', () => {
  it('runs every step in order, checks and records each', async () => {
    const w = world();
    const journal = memoryJournal();
    const outcomes = await runSteps([makes('role'), makes('clone'), makes('serve', { checked: false })], w, journal);
    expect(w.runs).toEqual(['role', 'clone', 'serve']);
    expect(journal.recorded).toEqual(['role', 'clone', 'serve']);
    expect(outcomes.map((o) => o.outcome)).toEqual(['ran', 'ran', 'ran']);
  });

  it('keeps a step an earlier attempt finished when its end state holds', async () => {
    const w = world(['clone']);
    const journal = memoryJournal(['role', 'clone']);
    const outcomes = await runSteps([makes('clone'), makes('serve')], w, journal);
    expect(w.runs).toEqual(['serve']);
    expect(outcomes).toEqual([
      { step: 'clone', outcome: 'kept' },
      { step: 'serve', outcome: 'ran' },
    ]);
    expect(journal.recorded).toEqual(['serve']);
  });

  it('redoes a step an earlier attempt finished when its end state no longer holds', async () => {
    const w = world(); // the clone recorded as finished is gone
    const journal = memoryJournal(['clone']);
    const outcomes = await runSteps([makes('clone'), makes('serve')], w, journal);
    expect(w.runs).toEqual(['clone', 'serve']);
    expect(outcomes.map((o) => o.outcome)).toEqual(['ran', 'ran']);
    expect(w.made.has('clone')).toBe(true);
  });

  it('redoes a finished step that has no end-state check (it is idempotent)', async () => {
    const w = world(['role']);
    await runSteps([makes('role', { checked: false })], w, memoryJournal(['role']));
    expect(w.runs).toEqual(['role']);
  });

  it('fails a step whose end state does not hold after it ran, naming what is wrong, and records nothing', async () => {
    const w = world();
    const hollow: Step<World> = { name: 'clone', run: async () => undefined, endStateProblems: async () => ['objects still belong to x'] };
    const journal = memoryJournal();
    await expect(runSteps([hollow, makes('serve')], w, journal)).rejects.toThrow(
      'The clone step did not finish: objects still belong to x.',
    );
    expect(journal.recorded).toEqual([]);
    expect(w.runs).toEqual([]);
  });

  it('passes over a step the tenant does not need', async () => {
    const w = world();
    const journal = memoryJournal();
    const outcomes = await runSteps([{ ...makes('neutralise'), appliesTo: () => false }, makes('filestore')], w, journal);
    expect(w.runs).toEqual(['filestore']);
    expect(outcomes[0]).toEqual({ step: 'neutralise', outcome: 'not needed' });
    expect(journal.recorded).toEqual(['filestore']);
  });

  it('calls the crash hook after each recorded step, not after kept ones', async () => {
    const reached: string[] = [];
    await runSteps([makes('role'), makes('clone')], world(['role']), memoryJournal(['role']), (step) => reached.push(step));
    expect(reached).toEqual(['clone']);
  });
});

describe('runAttempt', () => {
  function handlers() {
    const calls: string[] = [];
    return {
      calls,
      handlers: {
        retrying: async (error: Error) => void calls.push(`retrying: ${error.message}`),
        cleanUp: async () => void calls.push('clean-up'),
        failed: async (error: Error) => void calls.push(`failed: ${error.message}`),
        logger,
        logContext: {},
      },
    };
  }
  const broken = async () => {
    throw new Error('clone broke');
  };

  it('rethrows for a retry while attempts are left, without cleaning up', async () => {
    const { calls, handlers: h } = handlers();
    await expect(runAttempt(broken, { retryCount: 1, retryLimit: 2 }, h)).rejects.toThrow('clone broke');
    expect(calls).toEqual(['retrying: clone broke']);
  });

  it('cleans up and records the failure when the last attempt fails, and ends the job', async () => {
    const { calls, handlers: h } = handlers();
    await runAttempt(broken, { retryCount: 2, retryLimit: 2 }, h);
    expect(calls).toEqual(['clean-up', 'failed: clone broke']);
  });

  it('still records the failure when the clean-up itself fails', async () => {
    const { calls, handlers: h } = handlers();
    await runAttempt(
      broken,
      { retryCount: 0, retryLimit: 0 },
      {
        ...h,
        cleanUp: async () => {
          throw new Error('server gone');
        },
      },
    );
    expect(calls).toEqual(['failed: clone broke']);
  });

  it('does nothing else when the attempt succeeds', async () => {
    const { calls, handlers: h } = handlers();
    await runAttempt(async () => undefined, { retryCount: 2, retryLimit: 2 }, h);
    expect(calls).toEqual([]);
  });
});
