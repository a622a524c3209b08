/**
 * The tenant gateway: host -> tenant -> upstream, for plain HTTP and for upgrades. The platform's
 * HTTP server classifies each request with `classify` and hands tenant (and unknown) hosts to
 * `handleRequest` / `handleUpgrade`; with GATEWAY_PORT a listener of its own does the same.
 */
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logging/index.js';
import type { Upstream, UpstreamLoadRecorder } from '../runtimes/index.js';
import { decide, type GatewayDecision } from './decide.js';
import { forwardRequestHeaders, isWebsocketUpgrade } from './headers.js';
import { type CustomDomainResolver, classifyHost, type HostClass } from './host.js';
import { checkLimits, type TenantRestrictions } from './limit-guard.js';
import { type ProxyTarget, proxyHttp, proxyOverSocket, sendResponse, type UpstreamFailure, writeRawResponse } from './proxy.js';
import { readBody } from './read-body.js';
import { limitRefusal, rpcRefusal } from './refusals.js';
import { forwardedHost, hasBody, LONG_POLLING, NOT_REDIRECTED, primaryRedirect, targetFor, upstreamHost } from './request-facts.js';
import { checkRpcBody } from './rpc-guard.js';
import { type RpcRoute, routeRequestTarget } from './rpc-paths.js';
import { renderStatusPage, type StatusPage, type StatusPageKind } from './status-pages.js';
import type { RouteConfirmer, RouteResolver, TenantRoute } from './types.js';
import { DEFAULT_WAKE_HOLD_MS, holdForWake, rerouteRefused, type TenantWaker, wakePage } from './wake-hold.js';

export const DEFAULT_RPC_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/** Odoo's own deployment guide sets proxy_read_timeout 720s; long polls wait ~50 s. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 720_000;
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;

export interface GatewayTraffic {
  tenantId: string;
  bytesIn: number;
  bytesOut: number;
}

export interface GatewayOptions {
  baseDomain: string;
  resolveRoute: RouteResolver;
  /** Asked before a known tenant is shown a status page (the resolver may lag a commit). */
  confirmRoute?: RouteConfirmer;
  logger: Logger;
  /** Behind a TLS edge (Caddy, a load balancer): take X-Forwarded-Proto/-For from it. */
  trustProxy?: boolean;
  /**
   * Called once per request to a known tenant with the status sent, the time taken and the bytes
   * of the request body and of the whole answer (websocket traffic after the upgrade is not counted).
   */
  onProxied?: (tenantName: string, statusCode: number, ms: number, traffic: GatewayTraffic) => void;
  /** Called when a tenant's Odoo could not be reached (the visitor got a 502/504 or a closed connection). */
  onUpstreamFailure?: (route: TenantRoute, failure: UpstreamFailure) => void;
  /**
   * Wakes a hibernated tenant: asked for plain HTTP requests to a `running` tenant without an
   * upstream (never for upgrades: a websocket does not wake a tenant). See wake-hold.ts.
   */
  wakeTenant?: TenantWaker;
  /** How long a request waits for a wake before the "starting" answer. */
  wakeHoldMs?: number;
  /** Each plain HTTP request to a known tenant (websockets and long polling excluded): its activity. */
  onRequest?: (route: TenantRoute) => void;
  /** Custom domains (`erp.acme.com`) -> tenant name; see host.ts. */
  resolveCustomDomain?: CustomDomainResolver;
  /**
   * The primary custom domain of a tenant: page views through its subdomain are redirected there
   * (RPC, long polling and websockets are not, so integrations on the subdomain keep working).
   */
  primaryHostOf?: (tenantName: string) => string | undefined;
  /** The scheme of those redirects (`https:` behind a TLS edge). */
  primaryRedirectScheme?: string;
  /** Labels under the base domain served by the platform itself; default `['app']`. */
  platformLabels?: readonly string[];
  rpcBodyLimitBytes?: number;
  upstreamIdleTimeoutMs?: number;
  upstreamConnectTimeoutMs?: number;
  /** Connection pool towards Odoo; one is created (and closed by `close`) when not given. */
  agent?: Agent;
  /** The plan limits a tenant is held to now (usage/'s limit table); undefined: none. */
  restrictionsOf?: (tenantId: string) => TenantRestrictions | undefined;
  /**
   * Counts requests in flight per upstream (long polling excluded: it waits in Odoo's evented
   * process, not in a worker); the process runtime sizes a pool's workers by it.
   */
  upstreamLoad?: UpstreamLoadRecorder;
}

export interface Gateway {
  classify(req: IncomingMessage): HostClass;
  /** For tenant and unknown hosts (anything else gets the "no such site" page). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** For every upgrade request the platform does not handle itself. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Destroys every connection handed over by an upgrade (websockets, refused upgrades still being
   * answered): they never end by themselves, and a server's `close()` waits for them.
   */
  endUpgradedConnections(): void;
  /** Ends the upgraded connections and destroys the gateway's own upstream pool, in-flight requests included. */
  close(): void;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { logger } = options;
  const agent =
    options.agent ??
    new Agent({
      keepAlive: true,
      // Idle pooled sockets are dropped after this; a request sets its own, longer timeout.
      timeout: 15_000,
      maxSockets: 512,
      maxFreeSockets: 64,
      scheduling: 'lifo',
    });
  const upgradedSockets = new Set<Duplex>();
  const rpcLimit = options.rpcBodyLimitBytes ?? DEFAULT_RPC_BODY_LIMIT_BYTES;
  const timeouts = {
    idleMs: options.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
    connectMs: options.upstreamConnectTimeoutMs ?? DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
  };
  const hostOptions = {
    baseDomain: options.baseDomain,
    ...(options.platformLabels ? { platformLabels: options.platformLabels } : {}),
    ...(options.resolveCustomDomain ? { resolveCustomDomain: options.resolveCustomDomain } : {}),
  };

  const baseDomain = options.baseDomain.toLowerCase().replace(/\.$/, '');
  const wakeRouting = {
    confirm: options.confirmRoute ?? (async (route: TenantRoute) => options.resolveRoute(route.tenantName)),
    wake: options.wakeTenant,
    holdMs: options.wakeHoldMs ?? DEFAULT_WAKE_HOLD_MS,
  };

  function classify(req: IncomingMessage): HostClass {
    return classifyHost(req.headers.host, hostOptions);
  }

  function decideFor(req: IncomingMessage): GatewayDecision {
    try {
      return decide(classify(req), options.resolveRoute);
    } catch (error) {
      // The route table failing is the platform's fault; say so without guessing a tenant.
      logger.error({ err: error, host: req.headers.host }, 'gateway route lookup failed');
      return { action: 'page', page: 'error' };
    }
  }

  /**
   * Calls `then` with the decision; a status page about a known tenant is first confirmed against
   * the source of truth, so a tenant that has just become `running` is proxied, not shown "being
   * prepared". Proxied requests are decided without waiting.
   */
  function decideThen(req: IncomingMessage, then: (decision: GatewayDecision) => void): void {
    const decision = decideFor(req);
    const { confirmRoute } = options;
    if (decision.action !== 'page' || !decision.route || !confirmRoute) {
      then(decision);
      return;
    }
    confirmRoute(decision.route)
      .then(
        (confirmed) => decide(classify(req), () => confirmed),
        (error: unknown) => {
          logger.warn({ err: error, tenant: decision.route?.tenantName }, 'gateway could not confirm a route; using the table');
          return decision;
        },
      )
      .then(then)
      .catch((error: unknown) => {
        logger.error({ err: error, host: req.headers.host }, 'gateway failed to answer a request');
        req.socket.destroy();
      });
  }

  function page(kind: StatusPageKind, req: IncomingMessage): StatusPage {
    return renderStatusPage(kind, { host: forwardedHost(req) });
  }

  function reportUpstreamFailure(route: TenantRoute, target: ProxyTarget, req: IncomingMessage) {
    return (failure: UpstreamFailure, error: unknown) => {
      try {
        options.onUpstreamFailure?.(route, failure);
      } catch (callbackError) {
        logger.error({ err: callbackError }, 'gateway onUpstreamFailure callback failed');
      }
      logger.warn(
        { tenant: route.tenantName, upstream: `${target.host}:${target.port}`, failure, err: error, method: req.method },
        'gateway could not reach the tenant upstream',
      );
    };
  }

  function logRefusal(route: TenantRoute, req: IncomingMessage, reason: string): void {
    logger.warn({ tenant: route.tenantName, method: req.method, path: req.url, reason }, 'gateway refused an RPC');
  }

  function count(route: TenantRoute | undefined, status: number, started: number, bytes = { in: 0, out: 0 }): void {
    if (!route || !options.onProxied) return;
    try {
      options.onProxied(route.tenantName, status, performance.now() - started, {
        tenantId: route.tenantId,
        bytesIn: bytes.in,
        bytesOut: bytes.out,
      });
    } catch (error) {
      logger.error({ err: error }, 'gateway onProxied callback failed');
    }
  }

  function countOn(res: ServerResponse, route: TenantRoute | undefined, started: number): void {
    if (!route || !options.onProxied) return;
    // Bytes: what the visitor's connection carried while this request was answered (a keep-alive
    // connection carries one request at a time), at least the declared request body.
    const socket = res.req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    const declared = Number(res.req.headers['content-length'] ?? 0) || 0;
    // 499 (nginx's convention): the visitor left before any response was sent.
    res.once('close', () =>
      count(route, res.headersSent ? res.statusCode : 499, started, {
        in: Math.max(declared, socket.bytesRead - readBefore),
        out: Math.max(0, socket.bytesWritten - writtenBefore),
      }),
    );
  }

  /**
   * `path`: the canonical target (never the raw one). `body`: the buffered RPC body (sent with its
   * exact length), an empty buffer, or undefined to stream.
   */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    route: TenantRoute,
    upstream: Upstream,
    path: string,
    body: Buffer | undefined,
    buffered: boolean,
    rerouted = false,
  ) {
    const longPolling = LONG_POLLING.test(path);
    const target = targetFor(upstream, longPolling);
    if (options.upstreamLoad && !longPolling) res.once('close', options.upstreamLoad.begin(upstream));
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: req.socket.remoteAddress ?? '',
      host: upstreamHost(req, route, baseDomain),
      trustProxy: options.trustProxy ?? false,
      websocket: false,
      ...(buffered && body !== undefined ? { contentLength: body.length } : {}),
    });
    proxyHttp({
      req,
      res,
      target,
      path,
      headers,
      body,
      agent,
      timeouts,
      pageHost: forwardedHost(req),
      onFailure: reportUpstreamFailure(route, target, req),
      // Refused by an Odoo just stopped (hibernated, moved): read the route again, wake if asleep, resend once.
      ...(rerouted
        ? {}
        : {
            onRefused: () =>
              rerouteRefused(wakeRouting, route, upstream).then((result) => {
                if (result.kind === 'upstream') forward(req, res, route, result.upstream, path, body, buffered, true);
                else
                  sendResponse(res, result.kind === 'page' ? page(result.page, req) : wakePage(result.kind, req, forwardedHost(req)), true);
              }),
          }),
    });
  }

  async function inspectThenForward(
    req: IncomingMessage,
    res: ServerResponse,
    route: TenantRoute,
    upstream: Upstream,
    path: string,
    rpc: Extract<RpcRoute, { kind: 'inspect' }>,
  ): Promise<void> {
    const read = await readBody(req, rpcLimit);
    if (read.kind === 'aborted') {
      res.destroy();
      return;
    }
    if (read.kind === 'too_large') {
      logRefusal(route, req, `body over ${rpcLimit} bytes`);
      sendResponse(res, rpcRefusal(rpc.endpoint.protocol, 'too_large'), true);
      return;
    }
    const verdict = checkRpcBody(rpc.endpoint, read.body, route.databaseName);
    if (!verdict.allow) {
      logRefusal(route, req, verdict.reason);
      sendResponse(res, rpcRefusal(verdict.protocol, 'forbidden', verdict.requestId ?? null));
      return;
    }
    const restrictions = options.restrictionsOf?.(route.tenantId);
    if (restrictions) {
      const limited = checkLimits(rpc.endpoint, Buffer.from(read.body).toString('utf8'), restrictions);
      if (!limited.allow) {
        logRefusal(route, req, limited.reason);
        sendResponse(res, limitRefusal(limited.protocol, limited.message, limited.requestId));
        return;
      }
    }
    forward(req, res, route, upstream, path, read.body, true);
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    req.on('error', () => res.destroy());
    decideThen(req, (decision) => answer(req, res, decision, started));
  }

  function answer(req: IncomingMessage, res: ServerResponse, decision: GatewayDecision, started: number): void {
    countOn(res, decision.route, started);
    const { route } = decision;
    // Websockets and long polls keep a browser tab open for hours: they neither count nor wake.
    const activity = !NOT_REDIRECTED.test(req.url ?? '');
    if (route && activity) options.onRequest?.(route);
    if (decision.action === 'page' && activity && route?.state === 'running' && !route.upstream && options.wakeTenant) {
      wakeThenAnswer(req, res, route, options.wakeTenant, decision);
      return;
    }
    respond(req, res, decision);
  }

  /** A hibernated tenant's request waits for its wake (bounded), then is proxied or answered with a page. */
  function wakeThenAnswer(req: IncomingMessage, res: ServerResponse, route: TenantRoute, wake: TenantWaker, asleep: GatewayDecision): void {
    holdForWake(wake, route, wakeRouting.holdMs)
      .then((result) => {
        if (result.kind === 'awake')
          respond(req, res, { action: 'proxy', route: { ...route, upstream: result.upstream }, upstream: result.upstream });
        else if (result.kind === 'not_hibernated') respond(req, res, asleep);
        else sendResponse(res, wakePage(result.kind === 'failed' ? 'wake_failed' : 'starting', req, forwardedHost(req)), hasBody(req));
      })
      .catch((error: unknown) => {
        logger.error({ err: error, tenant: route.tenantName }, 'gateway failed while waking a tenant');
        sendResponse(res, wakePage('wake_failed', req, forwardedHost(req)), true);
      });
  }

  function respond(req: IncomingMessage, res: ServerResponse, decision: GatewayDecision): void {
    if (decision.action === 'page') {
      sendResponse(res, page(decision.page, req), hasBody(req));
      return;
    }
    const { route, upstream } = decision;
    const routed = routeRequestTarget(req.url ?? '');
    if (!routed.ok) {
      logRefusal(route, req, routed.reason);
      sendResponse(res, page('bad_path', req), true);
      return;
    }
    const { route: rpc, upstreamTarget: path } = routed;
    if (rpc.kind === 'deny') {
      logRefusal(route, req, rpc.reason);
      sendResponse(res, rpcRefusal(rpc.protocol, 'forbidden'), hasBody(req));
      return;
    }
    const location = rpc.kind === 'open' ? primaryRedirect(req, route, path, { ...options, baseDomain }) : undefined;
    if (location) {
      // 302, not 301: browsers keep a permanent redirect even after the customer changes the primary.
      sendResponse(res, { status: 302, headers: { location, 'content-length': '0', 'cache-control': 'no-store' }, body: '' }, hasBody(req));
      return;
    }
    // The web client's calls are read only for a tenant held to a limit; others stream as before.
    const readCall = rpc.kind === 'inspect' && (rpc.endpoint.kind !== 'call-kw' || options.restrictionsOf?.(route.tenantId));
    if (rpc.kind === 'inspect' && readCall) {
      inspectThenForward(req, res, route, upstream, path, rpc).catch((error: unknown) => {
        logger.error({ err: error, tenant: route.tenantName }, 'gateway failed while checking an RPC');
        sendResponse(res, page('error', req), true);
      });
      return;
    }
    // Without a body there is nothing to stream, and an empty buffer lets a request that met a
    // stale pooled connection be replayed.
    forward(req, res, route, upstream, path, hasBody(req) ? undefined : Buffer.alloc(0), false);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    // The HTTP server no longer watches this socket: an unhandled error would crash the process.
    socket.on('error', () => socket.destroy());
    upgradedSockets.add(socket);
    socket.once('close', () => upgradedSockets.delete(socket));
    decideThen(req, (decision) => answerUpgrade(req, socket, head, decision, started));
  }

  function answerUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, decision: GatewayDecision, started: number): void {
    const report = (status: number) => count(decision.route, status, started);
    const refuse = (kind: StatusPageKind) => {
      const response = page(kind, req);
      report(response.status);
      writeRawResponse(socket, response);
    };
    if (decision.action === 'page') {
      refuse(decision.page);
      return;
    }
    const { route, upstream } = decision;
    const routed = routeRequestTarget(req.url ?? '');
    if (!routed.ok) {
      logRefusal(route, req, routed.reason);
      refuse('bad_path');
      return;
    }
    const path = routed.upstreamTarget;
    // Upgrades carry no body the guard could read, so RPC paths are never upgraded.
    if (routed.route.kind !== 'open') {
      logRefusal(route, req, 'upgrade on an RPC path');
      refuse('forbidden');
      return;
    }
    const websocket = isWebsocketUpgrade(req.method, req.rawHeaders);
    // Other upgrades (h2c from `curl --http2`, ...) are ignored as RFC 9110 allows: a bodiless
    // request is answered as plain HTTP; one with a body cannot be relayed safely from here.
    if (!websocket && hasBody(req)) {
      refuse('bad_request');
      return;
    }
    const target = targetFor(upstream, websocket || LONG_POLLING.test(path));
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: req.socket.remoteAddress ?? '',
      host: upstreamHost(req, route, baseDomain),
      trustProxy: options.trustProxy ?? false,
      websocket,
    });
    proxyOverSocket({
      req,
      socket,
      head,
      target,
      path,
      headers,
      timeouts,
      pageHost: forwardedHost(req),
      onFailure: reportUpstreamFailure(route, target, req),
      onStatus: report,
    });
  }

  function endUpgradedConnections(): void {
    // Destroying the visitor's socket also destroys the upstream one (proxy.ts ties them).
    for (const socket of upgradedSockets) socket.destroy();
  }

  return {
    classify,
    handleRequest,
    handleUpgrade,
    endUpgradedConnections,
    close: () => {
      endUpgradedConnections();
      if (!options.agent) agent.destroy();
    },
  };
}
