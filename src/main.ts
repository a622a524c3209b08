import { join } from 'node:path';
import { sql } from 'kysely';
import { createAccountService } from './accounts/index.js';
import { type Api, buildApiServer } from './api/index.js';
import { createAuditLog } from './audit/index.js';
import { createAccessTokenSigner, createAuthService } from './auth/index.js';
import { type Config, resolveSecretKey } from './config/index.js';
import { type PlatformDatabase, openPlatformDatabase, pendingMigrations } from './db/index.js';
import { createLogger, type Logger } from './logging/index.js';
import { createMetrics } from './metrics/index.js';
import { createMailer } from './notifications/index.js';
import { createPlanService } from './plans/index.js';
import { createSecretBox } from './secrets/index.js';

export interface Platform {
  app: Api;
  database: PlatformDatabase;
  /** Where the HTTP server listens, once `listen` was asked for. */
  url: string | undefined;
  stop(): Promise<void>;
}

/** Composition root: builds every service from the config and wires them into the API. */
export async function startPlatform(config: Config, options: { logger?: Logger; listen?: boolean } = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const secretBox = createSecretBox(resolveSecretKey(config), config.previousSecretKeys);
  const database = await openPlatformDatabase(config, logger);
  const { db } = database;
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'mail-outbox'), logger });
  const metrics = createMetrics();
  const plans = createPlanService({ db });
  await plans.seed();
  const auth = createAuthService({
    db,
    config,
    signer: createAccessTokenSigner(secretBox.deriveKey('access-token'), config.accessTokenTtlSeconds),
    mailer,
    logger,
  });

  const app = await buildApiServer({
    config,
    logger,
    auth,
    plans,
    accounts: createAccountService({ db }),
    audit: createAuditLog({ db }),
    metrics,
    readiness: async (): Promise<{ ready: boolean; checks: Record<string, string> }> => {
      try {
        await sql`SELECT 1`.execute(db);
      } catch (error) {
        return { ready: false, checks: { database: `unreachable: ${(error as Error).message}` } };
      }
      const pending = await pendingMigrations(db);
      return pending.length === 0
        ? { ready: true, checks: { database: 'ok', migrations: 'ok' } }
        : { ready: false, checks: { database: 'ok', migrations: `pending: ${pending.join(', ')}` } };
    },
  });

  const pruneTimer = setInterval(() => {
    auth.pruneRateLimits().catch((error: unknown) => logger.warn({ err: error }, 'rate limit pruning failed'));
  }, 5 * 60_000);
  pruneTimer.unref();

  let url: string | undefined;
  if (options.listen !== false) {
    url = await app.listen({ host: config.host, port: config.port });
    logger.info({ url, baseDomain: config.baseDomain }, 'platform is serving');
  }

  let stopping: Promise<void> | undefined;
  return {
    app,
    database,
    url,
    stop() {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        await app.close();
        mailer.close();
        await database.close();
      })();
      return stopping;
    },
  };
}
