import type { Db, TenantRow } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import type { RuntimeRegistry, TenantServeSpec } from '../runtimes/index.js';

/** What hibernation needs; handed over by the composition (hibernation-wiring.ts). */
export interface HibernationDependencies {
  db: Db;
  runtimes: RuntimeRegistry;
  plans: Pick<PlanService, 'get' | 'list'>;
  servers: Pick<DatabaseServerRegistry, 'operations' | 'wake' | 'sleep' | 'isAsleep' | 'hibernatedAt'>;
  /** The serve spec of a placed tenant (provisioning's, so a wake serves it exactly as a start does). */
  serveSpecOf(tenant: TenantRow): Promise<TenantServeSpec>;
  logger: Logger;
  /** Wakes run at once on this host; more wait in line. */
  maxConcurrentWakes: number;
  /** A wake not healthy after this fails and its process is stopped again. */
  wakeTimeoutMs: number;
  /** Test-only fault injection (SAAS_TEST_CRASH_AFTER_STEP). */
  crashPoint?: (point: string) => void;
}
