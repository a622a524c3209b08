/**
 * TCP ports for Odoo processes. A port is handed out only when no workload of this runtime
 * holds it and a test bind on the interface succeeds (another program may use it); it stays
 * reserved while its workload exists, across restarts, so the gateway's upstream does not change
 * when a crashed process comes back.
 */
import { createServer } from 'node:net';
import { freePort } from '../../system/index.js';

export interface PortRange {
  from: number;
  to: number;
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export class PortAllocator {
  private readonly inUse = new Set<number>();
  private next: number;

  /**
   * Without a range, the kernel picks (ephemeral ports); a range keeps Odoo out of the ephemeral
   * span that outgoing connections also draw from, and makes firewall rules possible.
   */
  constructor(
    private readonly host: string,
    private readonly range?: PortRange,
  ) {
    if (
      range &&
      !(Number.isInteger(range.from) && Number.isInteger(range.to) && range.from >= 1 && range.to <= 65_535 && range.from <= range.to)
    ) {
      throw new RangeError(`invalid port range ${range.from}-${range.to}`);
    }
    this.next = range?.from ?? 0;
  }

  async allocate(): Promise<number> {
    const attempts = this.range ? this.range.to - this.range.from + 1 : 50;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const candidate = await this.candidate();
      if (this.inUse.has(candidate)) continue;
      // Reserved before the asynchronous check so two concurrent allocations cannot pick it twice.
      this.inUse.add(candidate);
      if (await canBind(candidate, this.host)) return candidate;
      this.inUse.delete(candidate);
    }
    throw new Error(this.range ? `no free port left in ${this.range.from}-${this.range.to}` : 'could not find a free port');
  }

  /** Keeps a port that is known to belong to us (e.g. restored state). */
  reserve(port: number): void {
    this.inUse.add(port);
  }

  release(port: number | undefined): void {
    if (port !== undefined) this.inUse.delete(port);
  }

  private async candidate(): Promise<number> {
    if (!this.range) return freePort();
    const port = this.next;
    this.next = port >= this.range.to ? this.range.from : port + 1;
    return port;
  }
}
