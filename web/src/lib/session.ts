import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { ApiError, api, onUnauthorized } from './api';
import type { LoginAnswer, LoginChallenge, Me, User } from './types';

/**
 * The session lives in an HttpOnly cookie scripts cannot see. A flag in localStorage remembers
 * that we logged in, so a logged-out visitor's first page does not start with a failing /me
 * request; the server's answer stays the truth (a 401 clears the flag).
 */
const FLAG = 'saas.signedIn';

function hasFlag(): boolean {
  try {
    return window.localStorage.getItem(FLAG) === '1';
  } catch {
    return true;
  }
}

function setFlag(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(FLAG, '1');
    else window.localStorage.removeItem(FLAG);
  } catch {
    // storage disabled: /me is always asked
  }
}

export const ME_KEY = ['me'] as const;

async function fetchMe(): Promise<Me | null> {
  if (!hasFlag()) return null;
  try {
    return await api.get<Me>('/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setFlag(false);
      return null;
    }
    throw error;
  }
}

export function useSession(): { user: User | null; loading: boolean; error: unknown } {
  const client = useQueryClient();
  const me = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 60_000, retry: 1 });
  useEffect(
    () =>
      onUnauthorized(() => {
        setFlag(false);
        client.setQueryData(ME_KEY, null);
      }),
    [client],
  );
  return { user: me.data?.user ?? null, loading: me.isPending, error: me.error };
}

/** A password login: the user, or the challenge of their second factor (no session yet). */
export async function logIn(email: string, password: string): Promise<{ user: User; challenge?: LoginChallenge }> {
  const result = await api.post<LoginAnswer>('/auth/login', { email, password, setCookie: true });
  if ('challenge' in result) return { user: result.user, challenge: result };
  setFlag(true);
  return { user: result.user };
}

/** The second step of a login: answers the recovery codes when the step set up an authenticator. */
export async function completeSecondFactor(challenge: string, code: string): Promise<string[] | undefined> {
  const result = await api.post<LoginAnswer>('/auth/login/second-factor', { challenge, code, setCookie: true });
  if ('challenge' in result) throw new Error('The platform asked for another factor; log in again.');
  setFlag(true);
  return result.recoveryCodes;
}

export async function logOut(): Promise<void> {
  try {
    await api.post('/auth/logout');
  } finally {
    setFlag(false);
  }
}

export function markSignedIn(): void {
  setFlag(true);
}
