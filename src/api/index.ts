export { buildOpenApiDocument } from './openapi-document.js';
export type { Api } from './route.js';
export { type ApiDependencies, buildApiServer, SESSION_COOKIE, type SharedPortGateway } from './server.js';
