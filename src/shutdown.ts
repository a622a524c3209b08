import type { Server } from 'node:http';
import type { Api } from './api/index.js';
import type { Gateway } from './gateway/index.js';
import type { Logger } from './logging/index.js';

/** In-flight requests (proxied long polls, downloads) get this long to finish at shutdown. */
const SHUTDOWN_GRACE_MS = 5_000;
/** After the grace period every connection is cut; closing must then be quick. */
const SHUTDOWN_CUT_MS = 2_000;

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  return Promise.race([promise.then(() => true), deadline]).finally(() => clearTimeout(timer));
}

/**
 * Stops the API and gateway listeners within a bound: a connection that never ends (a websocket,
 * a visitor that keeps a refused upgrade open, a stuck upstream) must not keep the platform,
 * its Odoo processes and its PostgreSQL running forever.
 */
export async function closeListeners(app: Api, gatewayServer: Server | undefined, gateway: Gateway, logger: Logger): Promise<void> {
  const closed = Promise.all([app.close(), gatewayServer && new Promise((r) => gatewayServer.close(r))]);
  gatewayServer?.closeIdleConnections();
  // Websockets never end by themselves: waiting for them would only delay the inevitable.
  gateway.endUpgradedConnections();
  if (!(await settlesWithin(closed, SHUTDOWN_GRACE_MS))) {
    logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'cutting the connections still open after the shutdown grace period');
    app.server.closeAllConnections();
    gatewayServer?.closeAllConnections();
    gateway.close();
    if (!(await settlesWithin(closed, SHUTDOWN_CUT_MS))) logger.error('the listeners did not close; stopping the rest anyway');
  }
  gateway.close();
}
