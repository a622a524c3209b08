export { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
export type { Access, Principal } from './principal.js';
export { createRateLimiter, type RateLimiter } from './rate-limit.js';
export { type AuthService, createAuthService } from './service.js';
export { type AccessTokenSigner, createAccessTokenSigner, digestToken, generateOpaqueToken, PLATFORM_TOKEN_ISSUER } from './tokens.js';
export { type PublicUser, type TokenPair, toPublicUser } from './users.js';
