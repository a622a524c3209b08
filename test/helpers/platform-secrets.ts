import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecretBox } from '../../src/secrets/index.js';
import type { TestPlatform } from './platform.js';

export interface Secret {
  kind: string;
  value: string;
}

function urlPassword(url: string | undefined): string[] {
  if (!url) return [];
  const password = decodeURIComponent(new URL(url).password);
  return password ? [password] : [];
}

/** Every file below `directory` (none when it is gone). */
export function filesUnder(directory: string): string[] {
  try {
    return readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // removed meanwhile (configs go when a workload stops)
  }
}

/**
 * Every secret the platform holds right now: its own database password and SECRET_KEY, the
 * admin URLs of its database servers (shared and dedicated), tenant role passwords and pending
 * Odoo admin passwords (from the encrypted columns), and what its Odoo config files and managed
 * PostgreSQL directories hold (pool role passwords, master passwords, superuser passwords).
 * Some live only for a while (a dedicated server, a workload's config): call this often.
 */
export async function collectPlatformSecrets(test: TestPlatform): Promise<Secret[]> {
  const { config } = test;
  const secrets: Secret[] = [
    { kind: 'SECRET_KEY', value: config.secretKey ?? '' },
    ...urlPassword(config.databaseUrl).map((value) => ({ kind: 'platform database password', value })),
    ...urlPassword(config.tenantDatabaseUrl).map((value) => ({ kind: 'platform database password', value })),
  ];
  const box = createSecretBox(config.secretKey ?? '');
  const db = test.platform.database.db;
  for (const server of await db.selectFrom('database_servers').select('admin_url_encrypted').execute()) {
    for (const value of urlPassword(box.decrypt(server.admin_url_encrypted)))
      secrets.push({ kind: 'database server admin password', value });
  }
  const tenants = await db.selectFrom('tenants').select(['role_password_encrypted', 'admin_password_check_encrypted']).execute();
  for (const tenant of tenants) {
    secrets.push({ kind: 'tenant role password', value: box.decrypt(tenant.role_password_encrypted) });
    if (tenant.admin_password_check_encrypted) {
      secrets.push({ kind: 'Odoo admin password', value: box.decrypt(tenant.admin_password_check_encrypted) });
    }
  }
  for (const file of filesUnder(config.dataDir)) {
    if (file.endsWith('.conf')) {
      for (const match of readOrEmpty(file).matchAll(/^(db_password|admin_passwd)\s*=\s*(.+)$/gm)) {
        secrets.push({ kind: `Odoo config ${match[1]}`, value: (match[2] ?? '').trim() });
      }
    } else if (file.endsWith('superuser.password')) {
      secrets.push({ kind: 'managed PostgreSQL superuser password', value: readOrEmpty(file).trim() });
    }
  }
  return secrets.filter((secret) => secret.value.length > 0);
}

/**
 * Accumulates `collectPlatformSecrets` over a run: `refresh()` may be called at any time (it
 * coalesces), `all()` waits for the last refresh and takes a final snapshot.
 */
export function trackPlatformSecrets(test: TestPlatform) {
  /** value -> what it is (one value can be several things: a server's URL password and its superuser's) */
  const known = new Map<string, Set<string>>();
  let running: Promise<void> | undefined;
  let again = false;
  const collect = async () => {
    for (const { kind, value } of await collectPlatformSecrets(test)) {
      const kinds = known.get(value) ?? new Set<string>();
      kinds.add(kind);
      known.set(value, kinds);
    }
  };
  const refresh = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = collect()
      .catch(() => undefined) // the platform may be stopping; the final snapshot reports errors
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          refresh();
        }
      });
  };
  return {
    refresh,
    async all(): Promise<Map<string, Set<string>>> {
      while (running) await running;
      await collect();
      return known;
    },
  };
}
