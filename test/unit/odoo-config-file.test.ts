import { describe, expect, it } from 'vitest';
import { InvalidOdooConfigError, type OdooServerOptions, renderOdooConfig } from '../../src/odoo/index.js';

/** Reads the file back the way Python's RawConfigParser does for simple `key = value` lines. */
function readOptions(text: string): Record<string, string> {
  const lines = text.split('\n');
  expect(lines[0]).toBe('[options]');
  const options: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const match = /^([^\s=:][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!match) throw new Error(`unparseable line ${JSON.stringify(line)}`);
    const [, key = '', value = ''] = match;
    expect(options[key]).toBeUndefined();
    options[key] = value.trim();
  }
  return options;
}

function expectRefused(options: Record<string, unknown>, option: string, message: RegExp): void {
  let thrown: unknown;
  try {
    renderOdooConfig(options as OdooServerOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOdooConfigError);
  expect((thrown as InvalidOdooConfigError).option).toBe(option);
  expect((thrown as Error).message).toMatch(message);
}

describe('renderOdooConfig', () => {
  it('writes a pool configuration Odoo reads back unchanged', () => {
    const text = renderOdooConfig({
      db_host: '127.0.0.1',
      db_port: 5433,
      db_user: 'pool_basic_1',
      db_password: 'p@ss%w0rd;#x=y',
      dbfilter: '^t_%d$',
      list_db: false,
      proxy_mode: true,
      http_interface: '127.0.0.1',
      http_port: 18069,
      gevent_port: 18072,
      workers: 2,
      max_cron_threads: 1,
      limit_memory_soft: 671_088_640,
      limit_memory_hard: 805_306_368,
      limit_time_cpu: 60,
      limit_time_real: 120,
      data_dir: '/var/lib/saas/odoo data',
      addons_path: ['/opt/odoo/addons', '/opt/odoo/odoo/addons'],
      admin_passwd: '$pbkdf2-sha512$600000$abc$def',
      without_demo: 'all',
      log_level: 'info',
      logfile: '/var/log/saas/pool-1.log',
      db_name: ['t_acme', 't_my-shop'],
      unaccent: true,
    });
    expect(readOptions(text)).toEqual({
      db_host: '127.0.0.1',
      db_port: '5433',
      db_user: 'pool_basic_1',
      db_password: 'p@ss%w0rd;#x=y',
      db_name: 't_acme,t_my-shop',
      dbfilter: '^t_%d$',
      list_db: 'False',
      unaccent: 'True',
      http_interface: '127.0.0.1',
      http_port: '18069',
      gevent_port: '18072',
      proxy_mode: 'True',
      workers: '2',
      max_cron_threads: '1',
      limit_memory_soft: '671088640',
      limit_memory_hard: '805306368',
      limit_time_cpu: '60',
      limit_time_real: '120',
      data_dir: '/var/lib/saas/odoo data',
      addons_path: '/opt/odoo/addons,/opt/odoo/odoo/addons',
      admin_passwd: '$pbkdf2-sha512$600000$abc$def',
      without_demo: 'all',
      log_level: 'info',
      logfile: '/var/log/saas/pool-1.log',
    });
  });

  it('writes a stable order and leaves undefined options out', () => {
    expect(renderOdooConfig({ http_port: 8069, db_host: 'db', list_db: undefined })).toBe('[options]\ndb_host = db\nhttp_port = 8069\n');
    expect(renderOdooConfig({})).toBe('[options]\n');
    expect(renderOdooConfig({ db_name: 'solo' })).toBe('[options]\ndb_name = solo\n');
  });

  it('refuses line breaks anywhere, so no value can inject another option', () => {
    expectRefused({ db_password: 'x\nadmin_passwd = hacked' }, 'db_password', /line breaks/);
    expectRefused({ db_password: 'x\rlist_db = True' }, 'db_password', /line breaks/);
    expectRefused({ dbfilter: '^a$\u2028' }, 'dbfilter', /line breaks/);
    expectRefused({ db_user: 'a\0b' }, 'db_user', /NUL/);
    expectRefused({ addons_path: ['/a', '/b\n[options]'] }, 'addons_path', /line breaks/);
  });

  it('refuses values Odoo would silently change', () => {
    expectRefused({ db_password: ' secret' }, 'db_password', /whitespace/);
    expectRefused({ db_password: 'secret\t' }, 'db_password', /whitespace/);
    expectRefused({ db_password: 'False' }, 'db_password', /boolean or as unset/);
    expectRefused({ admin_passwd: 'true' }, 'admin_passwd', /boolean or as unset/);
    expectRefused({ db_host: 'None' }, 'db_host', /boolean or as unset/);
    expectRefused({ db_password: '' }, 'db_password', /empty/);
    expectRefused({ addons_path: ['/a,/b'] }, 'addons_path', /comma/);
    expectRefused({ addons_path: [] }, 'addons_path', /at least one/);
  });

  it('refuses numbers that are not counts or ports, and unknown options or levels', () => {
    expectRefused({ workers: -1 }, 'workers', /non-negative integer/);
    expectRefused({ limit_time_cpu: 1.5 }, 'limit_time_cpu', /non-negative integer/);
    expectRefused({ http_port: 0 }, 'http_port', /TCP port/);
    expectRefused({ db_port: 70_000 }, 'db_port', /TCP port/);
    expectRefused({ workerz: 2 }, 'workerz', /not an option/);
    expectRefused({ log_level: 'verbose' }, 'log_level', /must be one of/);
    expectRefused({ db_sslmode: 'maybe' }, 'db_sslmode', /must be one of/);
    expectRefused({ http_port: '8069' }, 'http_port', /non-negative integer/);
    expectRefused({ list_db: 'False' }, 'list_db', /true or false/);
    expectRefused({ without_demo: 'some' }, 'without_demo', /"all"/);
    expectRefused({ addons_path: '/opt/odoo/addons' }, 'addons_path', /list of strings/);
    expectRefused({ db_port: null }, 'db_port', /non-negative integer/);
  });
});
