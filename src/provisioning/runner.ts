import type { Logger } from '../logging/index.js';

/**
 * One step of a long operation on a tenant (provisioning today; backups, restores and migrations
 * bring their own step lists). Each step is idempotent: a crash or a failure anywhere makes the
 * whole list run again on the next attempt, and the step must finish what an earlier one left.
 */
export interface Step<Context, Name extends string = string> {
  readonly name: Name;
  /** False when this tenant does not need the step at all (a staging copy's neutralise). */
  appliesTo?(context: Context): boolean;
  run(context: Context): Promise<void>;
  /**
   * What is still wrong with the step's end state, in words; empty when it holds. Checked after
   * the step runs (the step fails saying what is wrong), and before a step an earlier attempt
   * finished: that one is kept when its end state still holds and redone when it does not.
   * A step without a check is redone every attempt.
   */
  endStateProblems?(context: Context): Promise<string[]>;
}

/** Where an operation records its finished steps (the tenant's row and timeline for provisioning). */
export interface StepJournal {
  /** Whether an earlier attempt of the same operation finished this step. */
  finishedBefore(step: string): boolean;
  record(step: string, elapsedMs: number): Promise<void>;
}

export type StepOutcome = 'ran' | 'kept' | 'not needed';

/**
 * Runs the steps in order: each one not needed is passed over, each one finished earlier whose
 * end state holds is kept, every other one runs, is checked and is recorded. `afterStep` is the
 * test-only crash injection (createCrashInjection). Returns what happened to each step.
 */
export async function runSteps<Context>(
  steps: ReadonlyArray<Step<Context>>,
  context: Context,
  journal: StepJournal,
  afterStep: (step: string) => void = () => undefined,
): Promise<Array<{ step: string; outcome: StepOutcome }>> {
  const outcomes: Array<{ step: string; outcome: StepOutcome }> = [];
  for (const step of steps) {
    if (step.appliesTo && !step.appliesTo(context)) {
      outcomes.push({ step: step.name, outcome: 'not needed' });
      continue;
    }
    if (journal.finishedBefore(step.name) && step.endStateProblems && (await step.endStateProblems(context)).length === 0) {
      outcomes.push({ step: step.name, outcome: 'kept' });
      continue;
    }
    const started = performance.now();
    await step.run(context);
    const problems = step.endStateProblems ? await step.endStateProblems(context) : [];
    if (problems.length > 0) throw new Error(`The ${step.name.replace('_', ' ')} step did not finish: ${problems.join('; ')}.`);
    await journal.record(step.name, performance.now() - started);
    outcomes.push({ step: step.name, outcome: 'ran' });
    afterStep(step.name);
  }
  return outcomes;
}

export interface AttemptHandlers {
  /** A later attempt follows: say so (the error is rethrown afterwards, so the job queue retries). */
  retrying(error: Error): Promise<void>;
  /** Removes whatever the attempts made; runs once, after the last attempt failed. */
  cleanUp?: (() => Promise<void>) | undefined;
  /** Records the final failure. */
  failed(error: Error): Promise<void>;
  logger: Logger;
  /** What the log lines name (tenant, operation). */
  logContext: Record<string, unknown>;
}

/**
 * One attempt of an operation run by a job: on failure, retried while attempts are left (the
 * queue's retry limit); after the last one, cleaned up and recorded as failed, and the job ends.
 */
export async function runAttempt(
  work: () => Promise<void>,
  attempt: { retryCount: number; retryLimit: number },
  handlers: AttemptHandlers,
): Promise<void> {
  try {
    await work();
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    const { logger, logContext } = handlers;
    logger.warn({ err: error, ...logContext, attempt: attempt.retryCount }, 'tenant operation failed');
    if (attempt.retryCount < attempt.retryLimit) {
      await handlers.retrying(error);
      throw error;
    }
    await handlers
      .cleanUp?.()
      .catch((cleanUpError: unknown) =>
        logger.error({ err: cleanUpError, ...logContext }, 'clean-up after the last failed attempt failed'),
      );
    await handlers.failed(error);
  }
}

/**
 * Test-only fault injection (crash-safety tests, SAAS_TEST_CRASH_AFTER_STEP): kills this process
 * (SIGKILL, no clean-up) when it reaches the configured point, a step's name or a point inside one.
 */
export function createCrashInjection(crashAt: string | undefined, logger: Logger): (point: string) => void {
  return (point) => {
    if (crashAt !== point) return;
    logger.fatal({ point }, 'SAAS_TEST_CRASH_AFTER_STEP: killing this process on purpose');
    process.kill(process.pid, 'SIGKILL');
  };
}
