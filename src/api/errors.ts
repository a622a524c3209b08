import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorKind, type FieldIssue, RateLimitError } from '../errors/index.js';

const statusByKind: Record<ErrorKind, number> = {
  validation: 400,
  authentication: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

const titleByStatus: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  field?: string;
  errors?: FieldIssue[];
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  extra: { field?: string | undefined; errors?: FieldIssue[]; code?: string } = {},
) {
  const problem: Problem = {
    type: `/problems/${extra.code ?? String(status)}`,
    title: titleByStatus[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: String(request.id),
    ...(extra.field ? { field: extra.field } : {}),
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
  return reply.code(status).type('application/problem+json; charset=utf-8').send(problem);
}

/** Turns a request part and a JSON pointer ("/limits/cpu") into a field name ("limits.cpu", "query.limit"). */
function fieldName(part: string | undefined, pointer: string, extra?: string): string {
  const path = [...pointer.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.');
  if (part === 'body' || part === undefined) return path || 'body';
  return path ? `${part}.${path}` : part;
}

/** What fastify-type-provider-zod puts in `error.validation` for each zod issue. */
interface ValidationEntry {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { keys?: string[] };
}

function validationIssues(error: FastifyError & { validation: unknown[]; validationContext?: string }): FieldIssue[] {
  const part = error.validationContext === 'querystring' ? 'query' : error.validationContext;
  return (error.validation as ValidationEntry[]).map((entry) => {
    const unknownKeys = entry.keyword === 'unrecognized_keys' ? entry.params?.keys : undefined;
    if (unknownKeys?.length) {
      return { field: fieldName(part, entry.instancePath ?? '', unknownKeys[0]), message: `Unknown field(s): ${unknownKeys.join(', ')}.` };
    }
    return { field: fieldName(part, entry.instancePath ?? ''), message: entry.message ?? 'is invalid' };
  });
}

/** The one mapping from errors to HTTP: problem+json, the offending field, the request id. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = validationIssues(error as FastifyError & { validation: unknown[]; validationContext?: string });
      const first = errors[0];
      return sendProblem(request, reply, 400, first ? `${first.field}: ${first.message}` : 'Invalid request.', {
        field: first?.field,
        errors,
        code: 'validation',
      });
    }
    if (error instanceof AppError) {
      if (error instanceof RateLimitError) reply.header('retry-after', String(error.retryAfterSeconds));
      if (error.kind === 'authentication') reply.header('www-authenticate', 'Bearer');
      return sendProblem(request, reply, statusByKind[error.kind], error.message, {
        field: error.field,
        errors: error.issues,
        code: error.kind,
      });
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendProblem(request, reply, 400, `The request body is not valid JSON: ${error.message}`, {
          field: 'body',
          code: 'malformed_json',
        });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(request, reply, 413, 'The request body is too large.', { field: 'body', code: 'payload_too_large' });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(request, reply, 415, 'Send the body as application/json.', {
          field: 'content-type',
          code: 'unsupported_media_type',
        });
    }
    if (error instanceof SyntaxError || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return sendProblem(request, reply, error.statusCode ?? 400, error.message, { field: 'body' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, 500, `Something went wrong on our side. Quote request id ${request.id} when you report it.`);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, 404, `No route ${request.method} ${request.url.split('?')[0]}.`, { code: 'not_found' }),
  );
}
