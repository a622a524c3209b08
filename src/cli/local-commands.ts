import type { AddressInfo } from 'node:net';
import { createAccessTokenSigner, createAuthService } from '../auth/index.js';
import { loadConfig, resolveSecretKey } from '../config/index.js';
import { renderCaddyfile } from '../edge/index.js';
import { createLogger } from '../logging/index.js';
import { type Platform, startPlatform } from '../main.js';
import { createMailer } from '../notifications/index.js';
import { openPlatformDatabase } from '../platform-database.js';
import { createSecretBox } from '../secrets/index.js';
import { clientUrl, recordServing } from './platform-url.js';

/**
 * The commands that work on this machine's platform directly (serve it, write its database, use
 * its key) rather than through its API. main.ts loads this module only when one of them runs: it
 * pulls in the whole platform, which API commands and --help must not wait for.
 */

/**
 * `saasctl serve`. SIGTERM and SIGINT stop the platform, its Odoo processes and its PostgreSQL,
 * also when they come during start-up (then once it is up). A repeated signal is ignored: Ctrl-C
 * reaches this process twice under `npm start` (from the terminal and forwarded by npm), and dying
 * on the second one would leave PostgreSQL running.
 */
export async function serve(): Promise<void> {
  const config = loadConfig();
  let platform: Platform | undefined;
  let received: NodeJS.Signals | undefined;
  const stop = (running: Platform, signal: NodeJS.Signals) => {
    running.app.log.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) return;
    received = signal;
    if (platform) stop(platform, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  platform = await startPlatform(config); // a failure reaches the CLI's error handler
  if (received) return stop(platform, received);
  // Where this platform serves, for `saasctl` commands run without --url (cli/platform-url.ts).
  process.once('exit', recordServing(config.dataDir, clientUrl(platform.app.server.address() as AddressInfo)));
}

export async function createOperator(options: { email: string; name: string; password: string }) {
  const config = loadConfig();
  // Logs go to stderr: stdout carries the command's output (--json must stay parseable).
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr);
  const database = await openPlatformDatabase(config, logger);
  const wasRunning = database.localServer ? !database.localServer.startedByUs : true;
  try {
    const secretBox = createSecretBox(resolveSecretKey(config), config.previousSecretKeys);
    const auth = createAuthService({
      db: database.db,
      config,
      signer: createAccessTokenSigner(secretBox.deriveKey('access-token'), config.accessTokenTtlSeconds),
      mailer: createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: `${config.dataDir}/mail-outbox`, logger }),
      logger,
    });
    return await auth.createOperator(options);
  } finally {
    // Leave the embedded PostgreSQL running if the platform had it running already.
    await database.close({ stopLocalServer: !wasRunning });
  }
}

export function sealSecret(value: string): string {
  const config = loadConfig();
  return createSecretBox(resolveSecretKey(config), config.previousSecretKeys).encrypt(value);
}

export function caddyfile(options: { upstream?: string; email?: string; internalTls?: boolean }): { text: string; warning?: string } {
  const config = loadConfig();
  const upstream = options.upstream ?? `127.0.0.1:${config.port}`;
  return {
    text: renderCaddyfile({ upstream, email: options.email, internalTls: options.internalTls ?? false }),
    ...(config.trustProxy ? {} : { warning: 'set TRUST_PROXY=true on the platform behind this edge, or client addresses are wrong' }),
  };
}
