import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './errors.js';
import type { Api } from './route.js';

/**
 * The dashboard: the built single-page app (`web/dist`) served at `/`, with every other non-API
 * GET answered by its `index.html` so client-side routes (`/instances/acme`) survive a reload.
 * API paths, probes and metrics keep their own 404s (problem+json). Hashed assets under
 * `/assets/` are cached for a year; `index.html` is revalidated on every load so a new build
 * shows up at once.
 */

/** `web/dist` of this checkout: two levels up from `src/api` (tests) and from `dist/api` (build). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

const NOT_SPA = /^\/(?:api(?:\/|$)|healthz$|readyz$|metrics$)/;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The page's rules: only our own scripts, styles and API (no inline script, no framing). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The dashboard is not built yet</h1>
<p>The API is up (see <a href="/api/v1/docs">/api/v1/docs</a>), but the web dashboard's files are missing.</p>
<p><code>npm start</code> builds them before serving; to build them by hand run <code>npm run build:web</code>, then reload this page.</p>
</body></html>
`;

export interface StaticOptions {
  /** Directory holding the built dashboard (index.html + assets/). */
  root?: string;
  /** The router's maxParamLength (server.ts): longer API path segments answer 414 as before. */
  maxParamLength?: number;
}

function setPageHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
}

/** Maps a URL path onto a file under `root`; undefined when it would leave `root` or is malformed. */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const full = resolve(root, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  return full === root || full.startsWith(root + sep) ? full : undefined;
}

export function registerStaticRoutes(api: Api, options: StaticOptions = {}): void {
  const root = resolve(options.root ?? DEFAULT_WEB_ROOT);
  const maxParamLength = options.maxParamLength ?? 200;

  async function sendFile(request: FastifyRequest, reply: FastifyReply, file: string, size: number, mtime: Date, cacheControl: string) {
    const etag = `W/"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`;
    reply.header('etag', etag);
    reply.header('last-modified', mtime.toUTCString());
    reply.header('cache-control', cacheControl);
    reply.type(CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    if (file.endsWith('.html')) setPageHeaders(reply);
    else reply.header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    reply.header('content-length', String(size));
    // HEAD: Fastify's HEAD route runs this handler and drops the body, keeping the headers.
    return reply.send(createReadStream(file));
  }

  async function fileStat(path: string) {
    try {
      const info = await stat(path);
      return info.isFile() ? info : undefined;
    } catch {
      return undefined;
    }
  }

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    const path = (request.url.split('?')[0] ?? '/').replace(/\/{2,}/g, '/');
    // The API, probes and metrics answer their own 404s (problem+json), never the app. The router
    // falls back to this catch-all when a path parameter is too long; keep the API's 414 for it.
    if (NOT_SPA.test(path)) {
      if (path.split('/').some((segment) => segment.length > maxParamLength)) {
        return sendProblem(request, reply, 414, 'A path segment is too long.', { field: 'path', code: 'uri_too_long' });
      }
      return reply.callNotFound();
    }
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      setPageHeaders(reply);
      return reply.code(200).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    const target = resolveStaticPath(root, path);
    if (target === undefined) return reply.callNotFound();
    if (target !== root) {
      const info = await fileStat(target);
      if (info) {
        // Vite names every file under assets/ by its content hash: safe to keep for a year.
        const hashed = target.startsWith(join(root, 'assets') + sep);
        return sendFile(request, reply, target, info.size, info.mtime, hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
      // A missing file (a stale hashed asset, /favicon.png) is a 404, not the app's HTML.
      if (extname(path) !== '' && !path.endsWith('.html')) return reply.callNotFound();
    }
    const info = await fileStat(index);
    if (!info) return reply.callNotFound();
    return sendFile(request, reply, index, info.size, info.mtime, 'no-cache');
  }

  const routeOptions = { config: { access: 'public' as const }, schema: { hide: true } };
  api.get('/', routeOptions, handler);
  api.get('/*', routeOptions, handler);
}
