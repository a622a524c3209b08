import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filestorePath } from '../../src/odoo/index.js';
import { findPostgresBinaries, postgresClientCommand } from '../../src/postgres/index.js';
import { tenantDatabaseUrl } from './tenant-data.js';

/**
 * An Odoo backup zip made the way Odoo's own database manager makes one (`odoo/service/db.py`
 * `dump_db`): pg_dump's plain SQL as dump.sql, the manifest as `json.dump(..., indent=4)`, the
 * filestore copied under filestore/, zipped by a verbatim copy of `odoo/tools/osutil.py`
 * `zip_dir` (Python's zipfile, dump.sql first). Nothing of the platform's writer is used.
 */
const ZIP_DIR = `
import json, os, sys, zipfile

def zip_dir(path, stream, include_dir=True, fnct_sort=None):
    path = os.path.normpath(path)
    len_prefix = len(os.path.dirname(path)) if include_dir else len(path)
    if len_prefix:
        len_prefix += 1
    with zipfile.ZipFile(stream, 'w', compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zipf:
        for dirpath, dirnames, filenames in os.walk(path):
            filenames = sorted(filenames, key=fnct_sort)
            for fname in filenames:
                bname, ext = os.path.splitext(fname)
                ext = ext or bname
                if ext not in ['.pyc', '.pyo', '.swp', '.DS_Store']:
                    path = os.path.normpath(os.path.join(dirpath, fname))
                    if os.path.isfile(path):
                        zipf.write(path, path[len_prefix:])

dump_dir, manifest, target = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(dump_dir, 'manifest.json'), 'w') as fh:
    json.dump(json.loads(manifest), fh, indent=4)
with open(target, 'wb') as stream:
    zip_dir(dump_dir, stream, include_dir=False, fnct_sort=lambda file_name: file_name != 'dump.sql')
`;

export function odooManifest(databaseName: string, series: string): Record<string, unknown> {
  const [major, minor] = series.split('.').map(Number);
  return {
    odoo_dump: '1',
    db_name: databaseName,
    version: series,
    version_info: [major, minor, 0, 'final', 0, ''],
    major_version: series,
    pg_version: '16.0',
    modules: { base: `${series}.1.3`, web: `${series}.1.0`, mail: `${series}.1.15` },
  };
}

/** Writes an Odoo-made backup zip of `databaseName` (and its filestore) to `target`. */
export function makeOdooBackupZip(input: {
  databaseName: string;
  odooDataDir: string;
  manifest: Record<string, unknown>;
  target: string;
}): void {
  const binaries = findPostgresBinaries();
  if (!binaries) throw new Error('pg_dump not found');
  const dumpDir = mkdtempSync(join(tmpdir(), 'odoo-dump-'));
  try {
    const store = filestorePath(input.odooDataDir, input.databaseName);
    mkdirSync(join(dumpDir, 'filestore'), { recursive: true });
    cpSync(store, join(dumpDir, 'filestore'), { recursive: true });
    // Odoo: pg_dump --no-owner --file=dump.sql <db> (with --no-privileges from 17 on).
    const command = postgresClientCommand(
      join(binaries.binDir, 'pg_dump'),
      ['--no-owner', '--no-privileges'],
      tenantDatabaseUrl(input.databaseName),
    );
    const out = openSync(join(dumpDir, 'dump.sql'), 'w');
    try {
      const dumped = spawnSync(command.file, command.args, { env: command.env, stdio: ['ignore', out, 'pipe'] });
      if (dumped.status !== 0) throw new Error(`pg_dump failed: ${dumped.stderr}`);
    } finally {
      closeSync(out);
    }
    execFileSync('python3', ['-c', ZIP_DIR, dumpDir, JSON.stringify(input.manifest), input.target]);
  } finally {
    rmSync(dumpDir, { recursive: true, force: true });
  }
}

/** A zip that is not an Odoo backup (no dump.sql, no manifest). */
export function makeOtherZip(target: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'not-odoo-'));
  writeFileSync(join(dir, 'readme.txt'), 'not a backup');
  execFileSync('python3', [
    '-c',
    `import zipfile,sys\nwith zipfile.ZipFile(sys.argv[2],'w') as z: z.write(sys.argv[1]+'/readme.txt','readme.txt')`,
    dir,
    target,
  ]);
  rmSync(dir, { recursive: true, force: true });
}
