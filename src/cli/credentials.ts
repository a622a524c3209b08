import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface StoredCredentials {
  url: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

/** Where `saasctl login` keeps its tokens (mode 0600); SAASCTL_CONFIG overrides it. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SAASCTL_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'saasctl', 'credentials.json');
}

export function readCredentials(env: NodeJS.ProcessEnv = process.env): StoredCredentials | undefined {
  const path = credentialsPath(env);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as StoredCredentials;
}

export function writeCredentials(credentials: StoredCredentials, env: NodeJS.ProcessEnv = process.env): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
