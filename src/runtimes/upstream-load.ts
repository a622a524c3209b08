/**
 * Requests in flight per upstream, counted by the gateway and read by the runtime that sizes a
 * pool's Odoo workers (runtimes/process/worker-scaling.ts). A reading gives the peak since the
 * previous reading too: requests of a few milliseconds fall between two readings a second apart,
 * and only the peak shows that they queued.
 */
import type { Upstream } from './types.js';

export interface LoadReading {
  inFlight: number;
  /** Most requests in flight at once since the previous reading (at least `inFlight`). */
  peak: number;
}

/** What the gateway needs: one call per proxied request, and the returned function when it ends. */
export interface UpstreamLoadRecorder {
  begin(upstream: Pick<Upstream, 'host' | 'port'>): () => void;
}

interface Counter {
  inFlight: number;
  peak: number;
}

const keyOf = (upstream: Pick<Upstream, 'host' | 'port'>) => `${upstream.host}:${upstream.port}`;

export class UpstreamLoad implements UpstreamLoadRecorder {
  private readonly counters = new Map<string, Counter>();

  begin(upstream: Pick<Upstream, 'host' | 'port'>): () => void {
    const key = keyOf(upstream);
    let counter = this.counters.get(key);
    if (!counter) {
      counter = { inFlight: 0, peak: 0 };
      this.counters.set(key, counter);
    }
    counter.inFlight += 1;
    counter.peak = Math.max(counter.peak, counter.inFlight);
    let ended = false;
    const current = counter;
    return () => {
      // Called from 'close' and error paths alike: count each request once.
      if (ended) return;
      ended = true;
      current.inFlight -= 1;
    };
  }

  /** In flight now and the peak since the previous call (which starts a new peak window). */
  take(upstream: Pick<Upstream, 'host' | 'port'>): LoadReading {
    const counter = this.counters.get(keyOf(upstream));
    if (!counter) return { inFlight: 0, peak: 0 };
    const reading = { inFlight: counter.inFlight, peak: counter.peak };
    counter.peak = counter.inFlight;
    if (counter.inFlight === 0) this.counters.delete(keyOf(upstream));
    return reading;
  }
}
