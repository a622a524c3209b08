export { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
export type { Access, Principal } from './principal.js';
export { createRateLimiter } from './rate-limit.js';
export { type AuthService, createAuthService, type PublicUser, type TokenPair, toPublicUser } from './service.js';
export { type AccessTokenSigner, createAccessTokenSigner } from './tokens.js';
