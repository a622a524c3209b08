import { createHash, timingSafeEqual } from 'node:crypto';
import { sendProblem } from '../errors.js';
import type { Api } from '../route.js';
import type { ApiDependencies } from '../server.js';

/** Compares digests, so neither the content nor the length of the token leaks through timing. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export function registerHealthRoutes(app: Api, deps: Pick<ApiDependencies, 'readiness' | 'metrics' | 'config'>): void {
  const hidden = { config: { access: 'public' as const }, schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    const { ready, checks } = await deps.readiness();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  // Metrics describe routes, traffic and the process: only Prometheus, holding METRICS_TOKEN, reads them.
  // Without a token configured they are off (404, as for any unknown path).
  app.get('/metrics', { ...hidden, config: { access: 'public', ownCredentials: true } }, async (request, reply) => {
    const token = deps.config.metricsToken;
    if (!token) return reply.callNotFound();
    if (!bearerMatches(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      return sendProblem(request, reply, 401, 'Metrics need `Authorization: Bearer <METRICS_TOKEN>`.', { field: 'authorization' });
    }
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
