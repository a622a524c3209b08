export { type ExternalIdentity, mapClaims } from './claims.js';
export { safeNextPath } from './code-flow.js';
export type { IdentityAction } from './events.js';
export { createExternalTokenVerifier } from './external-tokens.js';
export type { LoginChallenge, LoginOutcome } from './login.js';
export { CODE_ATTEMPTS_PER_WINDOW, createIdentityService, type IdentityService } from './service.js';
export { currentTotp, matchTotp } from './totp.js';
