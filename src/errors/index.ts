import { redactCredentials } from '../secrets/index.js';

/**
 * The one error hierarchy of the platform. Domain and service code throws these; the API maps
 * them to HTTP once (api/errors.ts) and the CLI prints their message. `field` names the input
 * that caused the error so clients can show it next to the right form field.
 */
export type ErrorKind =
  | 'validation'
  | 'authentication'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable';

export interface FieldIssue {
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly field: string | undefined;
  readonly issues: FieldIssue[];
  readonly details: Record<string, unknown> | undefined;

  constructor(
    kind: ErrorKind,
    message: string,
    options: { field?: string; issues?: FieldIssue[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.field = options.field ?? options.issues?.[0]?.field;
    this.issues = options.issues ?? (options.field ? [{ field: options.field, message }] : []);
    this.details = options.details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, options: { field?: string; issues?: FieldIssue[] } = {}) {
    super('validation', message, options);
  }
}

export class AuthenticationError extends AppError {
  constructor(message = 'Authentication required: send "Authorization: Bearer <token>" or log in.') {
    super('authentication', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this.') {
    super('forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, options: { field?: string } = {}) {
    super('not_found', `${what} was not found.`, options);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: { field?: string; details?: Record<string, unknown> } = {}) {
    super('conflict', message, options);
  }
}

export class RateLimitError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message, { details: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class UnavailableError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('unavailable', message, options);
  }
}

/** Raised at start-up when configuration is invalid; names every offending variable. */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(message: string, variables: string[]) {
    super(message);
    this.name = 'ConfigError';
    this.variables = variables;
  }
}

/**
 * A failed external command, with what is needed to diagnose it (stderr is kept short). Its
 * message ends up in tenant events, API answers and logs: credentials in the command or its
 * output are masked here, whatever the caller passed.
 */
export class CommandError extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string) {
    const safeCommand = redactCredentials(command);
    const safeStderr = redactCredentials(stderr);
    super(`${safeCommand} failed (exit ${exitCode ?? 'signal'}): ${safeStderr.trim().slice(-2000)}`);
    this.name = 'CommandError';
    this.command = safeCommand;
    this.exitCode = exitCode;
    this.stderr = safeStderr;
  }
}
