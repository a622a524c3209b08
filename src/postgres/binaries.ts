import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface PostgresBinaries {
  binDir: string;
  /** Major version, e.g. 15. */
  major: number;
}

/**
 * Finds the PostgreSQL server binaries the OS package installed: the newest
 * /usr/lib/postgresql/<major>/bin first (Debian/Ubuntu), then initdb on PATH.
 */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): PostgresBinaries | null {
  const explicit = env.PG_BIN_DIR;
  if (explicit && existsSync(join(explicit, 'initdb'))) return { binDir: explicit, major: majorFromPath(explicit) };
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const majors = readdirSync(debianRoot)
      .map(Number)
      .filter((major) => Number.isInteger(major) && existsSync(join(debianRoot, String(major), 'bin', 'initdb')))
      .sort((a, b) => b - a);
    if (majors[0] !== undefined) return { binDir: join(debianRoot, String(majors[0]), 'bin'), major: majors[0] };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return { binDir: dir, major: majorFromPath(dir) };
  }
  return null;
}

function majorFromPath(dir: string): number {
  const match = /postgresql\/(\d+)\//.exec(`${dir}/`);
  return match ? Number(match[1]) : 0;
}
