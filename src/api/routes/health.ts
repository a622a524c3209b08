import type { Api } from '../route.js';
import type { ApiDependencies } from '../server.js';

export function registerHealthRoutes(app: Api, deps: Pick<ApiDependencies, 'readiness' | 'metrics'>): void {
  const hidden = { config: { access: 'public' as const }, schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    const { ready, checks } = await deps.readiness();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', hidden, async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
}
