import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yazl from 'yazl';

const FAKE_ODOO = resolve('test/fixtures/fake-odoo/fake-odoo.mjs');

/** The requirement every stand-in archive names; the local package index serves its wheel. */
export const FAKE_REQUIREMENT = { name: 'saas-fake-requirement', module: 'saas_fake_requirement', version: '1.0' };

/**
 * A source archive shaped like Odoo's (one top directory with `requirements.txt` and `odoo-bin`)
 * whose odoo-bin is a Python script: it imports the requirement pip installed into the
 * installation's virtual environment, then runs the fake Odoo claiming `series`. The archive is
 * the only stand-in of the installer tests: the download, checksum, venv and pip are real.
 */
export function fakeOdooSourceArchive(input: {
  series: string;
  requirements?: string;
  /** Python code run before the fake Odoo (e.g. `sys.exit("broken")` for an Odoo that does not start). */
  prelude?: string;
}): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'fake-odoo-src-'));
  try {
    const top = join(dir, `odoo-${input.series}.post20260101`);
    mkdirSync(top);
    writeFileSync(join(top, 'requirements.txt'), input.requirements ?? `${FAKE_REQUIREMENT.name}==${FAKE_REQUIREMENT.version}\n`);
    writeFileSync(
      join(top, 'odoo-bin'),
      [
        '#!/usr/bin/env python3',
        '# A stand-in for Odoo (tests only): proves its venv has the requirement, then runs the fake Odoo.',
        'import os, sys',
        `import ${FAKE_REQUIREMENT.module}`,
        input.prelude ?? '',
        `os.environ['FAKE_ODOO_VERSION'] = ${JSON.stringify(input.series)}`,
        `os.execv(${JSON.stringify(process.execPath)}, [${JSON.stringify(process.execPath)}, ${JSON.stringify(FAKE_ODOO)}] + sys.argv[1:])`,
        '',
      ].join('\n'),
    );
    chmodSync(join(top, 'odoo-bin'), 0o755);
    const archive = join(dir, 'source.tar.gz');
    const tar = spawnSync('tar', ['-czf', archive, '-C', dir, `odoo-${input.series}.post20260101`]);
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    return readFileSync(archive);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A pure-Python wheel of the fake requirement (a wheel is a zip with its dist-info). */
export async function fakeRequirementWheel(): Promise<{ fileName: string; bytes: Buffer }> {
  const { module, version } = FAKE_REQUIREMENT;
  const distInfo = `${module}-${version}.dist-info`;
  const files: Record<string, string> = {
    [`${module}/__init__.py`]: `VERSION = ${JSON.stringify(version)}\n`,
    [`${distInfo}/METADATA`]: `Metadata-Version: 2.1\nName: ${FAKE_REQUIREMENT.name}\nVersion: ${version}\n`,
    [`${distInfo}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: saas-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const record = Object.entries(files)
    .map(([name, text]) => {
      const digest = createHash('sha256').update(text).digest('base64url');
      return `${name},sha256=${digest},${Buffer.byteLength(text)}`;
    })
    .concat(`${distInfo}/RECORD,,`)
    .join('\n');
  files[`${distInfo}/RECORD`] = `${record}\n`;
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return { fileName: `${module}-${version}-py3-none-any.whl`, bytes: Buffer.concat(chunks) };
}

export interface ArchiveServer {
  url: string;
  /** What `/archives/<name>` serves now (absent: 404). */
  archives: Map<string, Buffer>;
  /** Archive names served as a stalled mirror does: headers and half the bytes, then nothing. */
  stalled: Set<string>;
  /** Requests, in order: `GET /archives/odoo_17.tar.gz`. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * One local HTTP server for the installer tests: source archives under `/archives/<name>` and a
 * PyPI-shaped "simple" index (PEP 503) under `/simple/` serving the fake requirement's wheel;
 * any other project is 404, as PyPI answers a name it does not know.
 */
export async function startArchiveServer(): Promise<ArchiveServer> {
  const wheel = await fakeRequirementWheel();
  const wheelSha = createHash('sha256').update(wheel.bytes).digest('hex');
  const archives = new Map<string, Buffer>();
  const stalled = new Set<string>();
  const stalledResponses = new Set<ServerResponse>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    const archive = path.startsWith('/archives/') ? archives.get(path.slice('/archives/'.length)) : undefined;
    if (archive && stalled.has(path.slice('/archives/'.length))) {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
      res.write(archive.subarray(0, archive.length >> 1));
      stalledResponses.add(res);
    } else if (archive) {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
      res.end(req.method === 'HEAD' ? undefined : archive);
    } else if (path === `/simple/${FAKE_REQUIREMENT.name}/`) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!DOCTYPE html><html><body><a href="/files/${wheel.fileName}#sha256=${wheelSha}">${wheel.fileName}</a></body></html>`);
    } else if (path === `/files/${wheel.fileName}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.bytes.length });
      res.end(wheel.bytes);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    archives,
    stalled,
    requests,
    close: () => {
      for (const res of stalledResponses) res.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
