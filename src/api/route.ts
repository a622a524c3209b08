import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Access, Principal } from '../auth/index.js';
import { AuthenticationError } from '../errors/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Name recorded in the audit log for state-changing routes (defaults to "METHOD /url"). */
    auditAction?: string;
    /** The route reads the Authorization header itself (the metrics token): no user authentication. */
    ownCredentials?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    /** Filled by handlers that know better than the URL what they acted on (audit log). */
    auditTarget: { type: string; id: string; accountId?: string | null } | undefined;
  }
}

export type Api = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  ZodTypeProvider
>;

type ZodSchema = z.ZodType;

export interface RouteSchema {
  summary: string;
  description?: string;
  tags: string[];
  params?: ZodSchema;
  querystring?: ZodSchema;
  body?: ZodSchema;
  response?: Record<number, ZodSchema>;
}

/**
 * Every route declares who may call it (`access`); the declaration is enforced by the auth hook
 * and published in the OpenAPI document (`x-access`, `security`), where the role test reads it.
 * Generic over the schema so Fastify's zod type provider still types the handler's request.
 */
export function routeOptions<const S extends RouteSchema>(access: Access, schema: S, auditAction?: string) {
  const security: Array<Record<string, string[]>> = access === 'public' ? [] : [{ bearerAuth: [] }, { sessionCookie: [] }];
  return {
    config: { access, ...(auditAction ? { auditAction } : {}) },
    schema: { ...schema, security, 'x-access': access },
  };
}

/** The authenticated caller; the auth hook guarantees one on non-public routes. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AuthenticationError();
  return request.principal;
}

export type { FastifyReply, FastifyRequest };
