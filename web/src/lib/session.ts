import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { ApiError, api, onUnauthorized } from './api';
import type { Me, User } from './types';

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

export async function logIn(email: string, password: string): Promise<User> {
  const result = await api.post<{ user: User }>('/auth/login', { email, password, setCookie: true });
  setFlag(true);
  return result.user;
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
