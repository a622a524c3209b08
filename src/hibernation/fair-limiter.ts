/**
 * At most `limit` holders at once; the others wait in one first-come first-served line, so a wake
 * storm (a host's tenants all asked for after a quiet night) starts them `limit` at a time, in
 * the order they were asked for, and none waits behind a later one.
 */
export interface FairLimiter {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Holders and waiters right now (for the wake's timeline entry and tests). */
  load(): { running: number; waiting: number };
}

export function createFairLimiter(limit: number): FairLimiter {
  let running = 0;
  const line: Array<() => void> = [];

  function release(): void {
    const next = line.shift();
    if (next) next();
    else running -= 1;
  }

  async function acquire(): Promise<void> {
    if (running < limit) {
      running += 1;
      return;
    }
    // The releasing holder hands its place over directly: `running` stays the same.
    await new Promise<void>((resolve) => line.push(resolve));
  }

  return {
    async run(work) {
      await acquire();
      try {
        return await work();
      } finally {
        release();
      }
    },
    load: () => ({ running, waiting: line.length }),
  };
}
