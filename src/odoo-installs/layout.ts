import { join } from 'node:path';

/** Where one series' installation lives: DATA_DIR/odoo/<series>/ (Odoo's data_dir, DATA_DIR/odoo, holds it beside filestore/). */
export function installationLayout(odooDir: string, series: string) {
  const root = join(odooDir, series);
  return {
    root,
    archive: join(root, 'source.tar.gz'),
    /** The URL the archive came from (a changed URL is downloaded again). */
    archiveSource: join(root, 'source.url'),
    src: join(root, 'src'),
    /** Written last by the unpack step: the archive's SHA-256 the sources came from. */
    unpacked: join(root, 'src', '.platform-unpacked'),
    venv: join(root, 'venv'),
    python: join(root, 'venv', 'bin', 'python'),
    /** Written last by the venv step. */
    venvComplete: join(root, 'venv', '.platform-complete'),
    /** Written last by the requirements step: the requirements' SHA-256 and the index they came from. */
    requirementsStamp: join(root, 'venv', '.platform-requirements'),
    /** The odoo-bin the platform runs: a small script that runs Odoo's with the venv's Python. */
    bin: join(root, 'odoo-bin'),
    log: join(root, 'install.log'),
  };
}
export type InstallationLayout = ReturnType<typeof installationLayout>;

/** A POSIX shell word quoting any path. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The wrapper script registered as the series' odoo-bin. */
export function wrapperScript(python: string, odooBin: string): string {
  return `#!/bin/sh\n# Written by the platform's Odoo installer: Odoo with its virtual environment's Python.\nexec ${shellQuote(python)} ${shellQuote(odooBin)} "$@"\n`;
}
