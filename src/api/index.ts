export { buildApiServer, SESSION_COOKIE, type ApiDependencies } from './server.js';
export type { Api } from './route.js';
