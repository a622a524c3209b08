import { describe, expect, it } from 'vitest';
import { parseOdooLog, searchOdooLog } from '../../src/odoo/index.js';

const LOG = [
  'Odoo starting...',
  '2026-12-07 10:00:00,001 4242 INFO ? odoo: Odoo version 16.0',
  '2026-12-07 10:00:05,120 4243 INFO t_acme werkzeug: 127.0.0.1 - - [07/Dec/2026 10:00:05] "POST /web/session/authenticate HTTP/1.1" 200 - 12 0.010 0.050',
  '2026-12-07 10:01:00,000 4243 ERROR t_acme odoo.http: Exception during request handling.',
  'Traceback (most recent call last):',
  '  File "odoo/http.py", line 1, in dispatch',
  'ValueError: the invoice AB/0001 is locked',
  '2026-12-07 10:02:00,500 4244 WARNING t_acme odoo.addons.base.models.ir_cron: Skipping database t_acme',
];

describe("Odoo's log as records", () => {
  const records = parseOdooLog(LOG);

  it('reads headers, keeps continuation lines with their record, and keeps lines before logging started', () => {
    expect(records.map((r) => [r.at, r.level, r.database, r.logger, r.lines.length])).toEqual([
      [null, null, null, null, 1],
      ['2026-12-07T10:00:00.001Z', 'INFO', null, 'odoo', 1],
      ['2026-12-07T10:00:05.120Z', 'INFO', 't_acme', 'werkzeug', 1],
      ['2026-12-07T10:01:00.000Z', 'ERROR', 't_acme', 'odoo.http', 4],
      ['2026-12-07T10:02:00.500Z', 'WARNING', 't_acme', 'odoo.addons.base.models.ir_cron', 1],
    ]);
  });

  it('finds text anywhere in a record, tracebacks included, whatever its case', () => {
    expect(searchOdooLog(records, { text: 'ab/0001 IS LOCKED' }).map((r) => r.logger)).toEqual(['odoo.http']);
    expect(searchOdooLog(records, { text: '   ' })).toHaveLength(records.length);
  });

  it('keeps a level and those above it; unstamped lines have no level', () => {
    expect(searchOdooLog(records, { minLevel: 'WARNING' }).map((r) => r.level)).toEqual(['ERROR', 'WARNING']);
    expect(searchOdooLog(records, { minLevel: 'DEBUG' })).toHaveLength(4);
  });

  it('keeps a time range, both ends included', () => {
    const since = new Date('2026-12-07T10:00:05.120Z');
    const until = new Date('2026-12-07T10:01:00.000Z');
    expect(searchOdooLog(records, { since, until }).map((r) => r.logger)).toEqual(['werkzeug', 'odoo.http']);
    expect(searchOdooLog(records, { since: new Date('2026-12-08T00:00:00Z') })).toEqual([]);
  });

  it('combines the criteria', () => {
    expect(searchOdooLog(records, { text: 't_acme', minLevel: 'ERROR', since: new Date('2026-12-07T10:00:30Z') })).toHaveLength(1);
  });
});
