import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFilestore, filestorePath, removeFilestore } from '../../src/odoo/index.js';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'filestore-'));
  mkdirSync(join(filestorePath(dataDir, 'tpl'), 'ab'), { recursive: true });
  writeFileSync(join(filestorePath(dataDir, 'tpl'), 'ab', 'abcdef'), 'attachment');
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('copying a filestore', () => {
  it('starts again over what a crashed copy left under the side name, and only then names it', async () => {
    const partial = join(dataDir, 'filestore', '.t_acme.partial');
    mkdirSync(join(partial, 'ab'), { recursive: true });
    writeFileSync(join(partial, 'ab', 'abcdef'), 'trunc'); // a half-written file of the fallback copy
    await copyFilestore(dataDir, 'tpl', 't_acme');
    expect(readFileSync(join(filestorePath(dataDir, 't_acme'), 'ab', 'abcdef'), 'utf8')).toBe('attachment');
    expect(readdirSync(join(dataDir, 'filestore')).sort()).toEqual(['t_acme', 'tpl']);
  });

  it('gives an empty store for a source without one, and removes side copies with the store', async () => {
    await copyFilestore(dataDir, 'missing', 't_empty');
    expect(readdirSync(filestorePath(dataDir, 't_empty'))).toEqual([]);
    mkdirSync(join(dataDir, 'filestore', '.t_empty.partial'));
    await removeFilestore(dataDir, 't_empty');
    expect(readdirSync(join(dataDir, 'filestore'))).toEqual(['tpl']);
  });
});
