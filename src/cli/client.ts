import { Readable } from 'node:stream';
import type { StoredCredentials } from './credentials.js';
import { writeCredentials } from './credentials.js';

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/**
 * A small HTTP client for the platform API: sends the stored access token, refreshes it once
 * on 401 (saving the rotated pair) and turns problem+json answers into readable errors.
 */
export function createApiClient(options: { url: string; credentials?: StoredCredentials | undefined; env?: NodeJS.ProcessEnv }) {
  let credentials = options.credentials;
  const base = options.url.replace(/\/+$/, '');

  async function send(method: string, path: string, body?: unknown, token?: string): Promise<Response> {
    // A stream (an uploaded zip) goes as it is, never buffered; anything else as JSON.
    const raw = body instanceof Readable;
    try {
      return await fetch(`${base}/api/v1${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': raw ? 'application/zip' : 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : raw ? (Readable.toWeb(body) as ReadableStream) : JSON.stringify(body),
        ...(raw ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      throw new ApiError(
        0,
        `Cannot reach the platform at ${base}: ${(error as Error).message}. Is it running (saasctl serve)? Use --url to point elsewhere.`,
      );
    }
  }

  async function refresh(): Promise<boolean> {
    if (!credentials) return false;
    const response = await send('POST', '/auth/refresh', { refreshToken: credentials.refreshToken });
    if (!response.ok) return false;
    const pair = (await response.json()) as { accessToken: string; refreshToken: string };
    credentials = { ...credentials, accessToken: pair.accessToken, refreshToken: pair.refreshToken };
    writeCredentials(credentials, options.env);
    return true;
  }

  async function request<T>(method: string, path: string, body?: unknown | (() => Readable)): Promise<T> {
    const payload = () => (typeof body === 'function' ? (body as () => Readable)() : body);
    let response = await send(method, path, payload(), credentials?.accessToken);
    if (response.status === 401 && credentials && (await refresh())) {
      response = await send(method, path, payload(), credentials.accessToken);
    }
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const problem = (parsed ?? {}) as { detail?: string; field?: string };
      // Logging in again helps with a missing or expired session, not with a refused login.
      const hint = response.status === 401 && !path.startsWith('/auth/') ? ' Run `saasctl login` first.' : '';
      throw new ApiError(response.status, `${problem.detail ?? response.statusText}${hint}`, problem.field);
    }
    return parsed as T;
  }

  return {
    get: <T>(path: string) => request<T>('GET', path),
    post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
    put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
    delete: <T>(path: string) => request<T>('DELETE', path),
    /** POSTs a stream as the raw body (opened again if the session had to be refreshed). */
    upload: <T>(path: string, open: () => Readable) => request<T>('POST', path, open),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
