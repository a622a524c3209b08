/**
 * The one way the dashboard talks to the platform: same-origin fetch with the session cookie
 * (HttpOnly, so never seen by scripts). Errors come back as `application/problem+json`; they are
 * turned into an ApiError that knows which form field each message belongs to.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  requestId?: string;
  field?: string;
  errors?: FieldIssue[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** Message per field name (`email`, `adminPassword`, ...). */
  readonly fieldErrors: Record<string, string>;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `Request failed (${problem.status})`);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
    const fields: Record<string, string> = {};
    for (const issue of problem.errors ?? []) {
      const key = issue.field.replace(/^body\./, '');
      fields[key] = fields[key] ? `${fields[key]} ${issue.message}` : issue.message;
    }
    if (problem.field && !fields[problem.field.replace(/^body\./, '')] && problem.detail) {
      fields[problem.field.replace(/^body\./, '')] = problem.detail;
    }
    this.fieldErrors = fields;
  }
}

/** Listeners told when a request finds the session gone (401): the app then shows the login page. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export async function request<T>(method: string, path: string, body?: unknown, options: { signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({
      status: 0,
      title: 'Network error',
      detail: 'The platform cannot be reached. Check your connection and try again.',
    });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem: Problem =
      parsed && typeof parsed === 'object'
        ? { status: response.status, ...(parsed as object) }
        : { status: response.status, detail: text.slice(0, 300) };
    if (response.status === 401 && !path.startsWith('/auth/')) for (const listener of unauthorizedListeners) listener();
    throw new ApiError(problem);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, options?: { signal?: AbortSignal }) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A message a person can act on, from whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
