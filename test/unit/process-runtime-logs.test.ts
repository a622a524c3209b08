import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseOfLogLine, lastLines, linesOfDatabase, splitTail } from '../../src/runtimes/process/index.js';
import { readTailLines } from '../../src/runtimes/process/log-file.js';

const POOL_LOG = [
  'Traceback printed before logging was set up',
  '2026-01-01 12:00:00,000 100 INFO ? odoo: Odoo version 16.0',
  '2026-01-01 12:00:01,000 100 INFO t_acme werkzeug: 127.0.0.1 - - "POST /web/session/authenticate HTTP/1.1" 200 -',
  '2026-01-01 12:00:02,000 100 ERROR t_globex odoo.http: Exception during request handling.',
  'Traceback (most recent call last):',
  '  File "secret_globex_module.py", line 1',
  '2026-01-01 12:00:03,000 100 ERROR t_acme odoo.http: Exception during request handling.',
  'Traceback (most recent call last):',
  '  File "acme.py", line 7',
  '2026-01-01 12:00:04,000 101 INFO t_globex odoo.addons.base: user of t_acme is mentioned here',
  '2026-01-01 12:00:05,000 101 INFO t_acme2 werkzeug: another tenant whose name starts the same',
  '2026-01-01 12:00:06,000 100 INFO t_acme odoo.modules.registry: Registry loaded',
];

describe('pool log filtering', () => {
  it('reads the database field of record headers only', () => {
    expect(databaseOfLogLine(POOL_LOG[2] as string)).toBe('t_acme');
    expect(databaseOfLogLine(POOL_LOG[1] as string)).toBe('?');
    expect(databaseOfLogLine('  File "x.py", line 1')).toBeUndefined();
  });

  it("keeps a tenant's records with their continuation lines and nothing else", () => {
    expect(linesOfDatabase(POOL_LOG, 't_acme')).toEqual([POOL_LOG[2], POOL_LOG[6], POOL_LOG[7], POOL_LOG[8], POOL_LOG[11]]);
  });

  it("never shows another tenant's record, even one that mentions this tenant's database", () => {
    const seen = linesOfDatabase(POOL_LOG, 't_acme').join('\n');
    expect(seen).not.toContain('globex');
    expect(seen).not.toContain('t_acme2');
    expect(seen).not.toContain('before logging');
  });

  it('takes the last lines', () => {
    expect(lastLines(['a', 'b', 'c'], 2)).toEqual(['b', 'c']);
    expect(lastLines(['a'], 5)).toEqual(['a']);
    expect(lastLines(['a'], 0)).toEqual([]);
  });

  it('drops a cut first line of a chunk and the empty line after the last newline', () => {
    expect(splitTail('ut line\nwhole\nlast\n', false)).toEqual(['whole', 'last']);
    expect(splitTail('first\nsecond\r\n', true)).toEqual(['first', 'second']);
  });
});

describe('reading the end of a log file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'process-runtime-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns all lines of a small file and none of a missing one', () => {
    const path = join(dir, 'small.log');
    writeFileSync(path, 'one\ntwo\nthree\n');
    expect(readTailLines(path)).toEqual(['one', 'two', 'three']);
    expect(readTailLines(join(dir, 'missing.log'))).toEqual([]);
  });

  it('reads only the end of a big file, without a cut line', () => {
    const path = join(dir, 'big.log');
    const lines = Array.from({ length: 1000 }, (_, index) => `line ${String(index).padStart(4, '0')}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    // 10 bytes per line: 105 bytes hold 10 whole lines and half of another.
    expect(readTailLines(path, 105)).toEqual(lines.slice(-10));
    // Exactly on a line boundary: the first line in the chunk is whole and kept.
    expect(readTailLines(path, 100)).toEqual(lines.slice(-10));
  });
});
