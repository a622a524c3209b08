export { buildApiServer, SESSION_COOKIE, type ApiDependencies, type SharedPortGateway } from './server.js';
export type { Api } from './route.js';
