import { type Logger, type LoggerOptions, pino } from 'pino';
import { redactCredentials } from '../secrets/index.js';

export type { Logger } from 'pino';

/** Paths that may carry secrets; pino replaces them before anything is written. */
export const redactedPaths = [
  'password',
  '*.password',
  'adminPassword',
  '*.adminPassword',
  'newPassword',
  '*.newPassword',
  'token',
  '*.token',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'connectionUrl',
  '*.connectionUrl',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Every text of a value, credentials masked (an error's message, stack, cause, extra fields). */
function redactTexts(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactCredentials(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactTexts(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactTexts(item, depth + 1)]));
}

/**
 * Errors are logged by their text, which the platform does not control (a driver's message, a
 * failed command's output, Node's URL errors keep the `input`): credentials in them are masked.
 */
function serializeError(error: unknown): unknown {
  return redactTexts(error instanceof Error ? pino.stdSerializers.err(error) : error);
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    serializers: { err: serializeError },
    base: { service: 'saas-platform' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
