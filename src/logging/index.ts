import { AsyncLocalStorage } from 'node:async_hooks';
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

/** Receives each log record (one JSON line, already redacted) of the code it was set for. */
export type LogCapture = (record: string) => void;
const captures = new AsyncLocalStorage<LogCapture>();

/**
 * Runs `work` with every record logged at `CAPTURED_LEVEL` and above, by any logger of the
 * platform, also given to `capture` (a job's own log, jobs/logs.ts), whatever the level of the
 * platform's output. Asynchronous work started inside is captured too.
 */
export function withLogCapture<T>(capture: LogCapture, work: () => Promise<T>): Promise<T> {
  return captures.run(capture, work);
}

/** Runs `work` outside any capture (a job log's own writer must not capture its own warnings). */
export function outsideLogCapture<T>(work: () => T): T {
  return captures.exit(work);
}

export const CAPTURED_LEVEL = 'info';
const captureStream = {
  write(record: string) {
    captures.getStore()?.(record);
  },
};

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  const output = { level, stream: destination ?? pino.destination(1) };
  // Records are made from CAPTURED_LEVEL up even when the output wants fewer (a quiet `warn` or
  // `silent` platform still keeps its jobs' logs); each stream takes the levels it asked for.
  const levels: Record<string, number> = pino.levels.values;
  const below = (levels[level] ?? Number.POSITIVE_INFINITY) < (levels[CAPTURED_LEVEL] ?? 30);
  const streams = level === 'silent' ? [] : [output];
  const outputLevel = levels[level] ?? Number.POSITIVE_INFINITY;
  return pino(
    {
      ...loggerOptions(below ? level : CAPTURED_LEVEL),
      // A record below the output's level is only made for a capture: skipped (not even
      // serialised) when nothing captures, so a quiet platform pays nothing for it.
      hooks: {
        logMethod(args, method, recordLevel) {
          if (recordLevel < outputLevel && !captures.getStore()) return;
          method.apply(this, args);
        },
      },
    },
    pino.multistream([{ level: CAPTURED_LEVEL, stream: captureStream }, ...streams]),
  );
}
