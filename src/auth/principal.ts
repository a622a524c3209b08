import type { Role } from '../db/index.js';

/** Who is calling: resolved once per request from a bearer token, an API key or a session cookie. */
export interface Principal {
  userId: string;
  email: string;
  role: Role;
  accountId: string | null;
  via: 'access_token' | 'api_key' | 'session' | 'external_token';
  apiKeyId?: string;
}

/** Who may call a route. Every route declares one of these. */
export type Access = 'public' | 'user' | 'operator';
