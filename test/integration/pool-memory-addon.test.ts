/**
 * The platform's saas_pool_memory addon (odoo-addons/), run by a real Python against a stub of
 * the Odoo names it touches (test/fixtures/odoo-stub): the values come as Odoo's config file
 * gives them, as text. With ODOO_BIN set, bench/density.ts runs it inside a real Odoo's pool.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DRIVER = `
import json, logging, os, sys
logging.basicConfig(level=logging.INFO)  # as Odoo logs: info and up
from odoo.tools import config
config.update(json.loads(sys.argv[1]))
import saas_pool_memory
from odoo.service import server
worker = server.Worker(os.getpid())
worker.check_limits()
print(json.dumps({
    'registry_lru_size': config.get('registry_lru_size'),
    'alive': worker.alive,
    'wrapped': hasattr(server.Worker.check_limits, 'saas_pool_memory_wraps'),
}))
`;

interface Outcome {
  registry_lru_size: unknown;
  alive: boolean;
  wrapped: boolean;
  log: string;
}

function runAddon(options: Record<string, string>): Outcome {
  const run = spawnSync('python3', ['-c', DRIVER, JSON.stringify(options)], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: [resolve('test/fixtures/odoo-stub'), resolve('odoo-addons')].join(':') },
  });
  if (run.status !== 0) throw new Error(`python3 failed (${run.status}): ${run.stderr}`);
  return { ...(JSON.parse(run.stdout) as Omit<Outcome, 'log'>), log: run.stderr };
}

describe('saas_pool_memory (server-wide addon)', () => {
  it("changes nothing when neither setting is written (dedicated processes, Odoo's own sizing)", () => {
    expect(runAddon({})).toMatchObject({ registry_lru_size: null, alive: true, wrapped: false });
  });

  it("turns registry_lru_size from the config file's text into the number Odoo's LRU needs", () => {
    expect(runAddon({ registry_lru_size: '20' }).registry_lru_size).toBe(20);
  });

  it('drops a registry_lru_size that is not a number > 0, so Odoo sizes the LRU itself, and says so', () => {
    for (const value of ['twenty', '0', '-3']) {
      const outcome = runAddon({ registry_lru_size: value });
      expect(outcome.registry_lru_size).toBeNull();
      expect(outcome.log).toContain('registry_lru_size');
    }
  });

  it('recycles a worker whose resident memory passed saas_worker_recycle_rss after its request', () => {
    const outcome = runAddon({ saas_worker_recycle_rss: '1' });
    expect(outcome).toMatchObject({ alive: false, wrapped: true });
    expect(outcome.log).toMatch(/resident memory \d+ passed saas_worker_recycle_rss \(1\): recycled/);
  });

  it('keeps a worker below the limit', () => {
    expect(runAddon({ saas_worker_recycle_rss: String(2 ** 40) })).toMatchObject({ alive: true, wrapped: true, log: '' });
  });
});
