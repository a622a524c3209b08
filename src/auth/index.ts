export { createAuthService, type AuthService, type PublicUser, type TokenPair, toPublicUser } from './service.js';
export { createAccessTokenSigner, type AccessTokenSigner } from './tokens.js';
export { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
export type { Access, Principal } from './principal.js';
export { createRateLimiter } from './rate-limit.js';
