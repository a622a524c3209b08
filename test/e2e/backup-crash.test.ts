import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exited } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * Crash safety of backups: the platform runs as a real child process and is killed (SIGKILL,
 * through the test-only SAAS_TEST_CRASH_AT hook) while the archive streams into storage, and
 * after it is stored but before it is read back. A new platform process on the same data must
 * finish the backup (verified, one whole archive, no partial file) and the tenant keeps serving.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
const platform = servedPlatform(() => ({ databaseUrl: database.url, dataDir, port, env: { SPARE_DATABASES: '0' } }));
const http = platform.http;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';

beforeAll(async () => {
  database = await createTestDatabase('backupcrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-backup-crash-'));
  port = await freeTestPort();
});

afterEach(platform.stopAll);

afterAll(async () => {
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a backup survives a crash of the platform', () => {
  let token: string;
  let name: string;

  beforeAll(async () => {
    await platform.startReady();
    const email = uniqueEmail('backup-crash');
    await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
    token = (await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD })).body.accessToken;
    await waitFor(
      'the blank template',
      async () => {
        const templates = await http().get('/api/v1/templates', { token });
        return templates.body.find((t: { code: string; available: boolean }) => t.code === 'blank')?.available ? true : undefined;
      },
      90_000,
    );
    name = `bkcrash${Date.now().toString(36)}`;
    const created = await http().post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD },
      { token },
    );
    expect(created.status, created.text).toBe(202);
    await waitFor(
      `${name} to run`,
      async () => ((await http().get(`/api/v1/tenants/${name}`, { token })).body.state === 'running' ? true : undefined),
      90_000,
    );
    await platform.stopAll();
  }, 240_000);

  for (const point of ['backup:uploading', 'backup:stored']) {
    it(`finishes a backup whose platform was killed at ${point}, leaving one whole archive and the tenant serving`, async () => {
      const first = await platform.startReady({ SAAS_TEST_CRASH_AT: point });
      const accepted = await http().post(`/api/v1/tenants/${name}/backups`, {}, { token });
      expect(accepted.status, accepted.text).toBe(202);
      const id = accepted.body.backup.id as string;
      expect((await exited(first)).signal).toBe('SIGKILL');
      const [killed] = await platform.query<{ state: string }>('SELECT state FROM backups WHERE id = $1', [id]);
      expect(killed?.state).toBe('running'); // never reported good without proof

      await platform.startReady();
      const backup = await waitFor(
        `backup ${id} to settle after the restart`,
        async () => {
          const answer = (await http().get(`/api/v1/tenants/${name}/backups/${id}`, { token })).body;
          return answer.state === 'running' ? undefined : answer;
        },
        90_000,
        250,
      );
      expect(backup.state, backup.failureReason).toBe('verified');
      // One whole archive for this backup, nothing partial left by the killed attempt.
      const directory = join(dataDir, 'backups', name);
      const files = readdirSync(directory).filter((file) => file.includes(id.slice(0, 8)));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/\.zip$/);
      expect(readdirSync(directory).filter((file) => file.endsWith('.partial'))).toEqual([]);
      expect(
        createHash('sha256')
          .update(readFileSync(join(directory, files[0] as string)))
          .digest('hex'),
      ).toBe(backup.sha256);
      // The tenant serves again once the restarted platform brought its Odoo back (in the background).
      const uid = await waitFor(
        'the admin login through the gateway',
        async () => {
          return (
            await odooLogin(port, `${name}.lvh.me:${port}`, `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD).catch(() => undefined)
          )?.body.result?.uid;
        },
        60_000,
        250,
      );
      expect(uid).toBe(2);
    }, 240_000);
  }
});
