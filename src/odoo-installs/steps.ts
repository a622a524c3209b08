import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { detectOdooVersion, type OdooInstallation } from '../odoo/index.js';
import { runCommand } from '../system/index.js';
import type { InstallationLayout } from './layout.js';
import { wrapperScript } from './layout.js';
import type { InstallStep } from './views.js';

/** What every step of one installation shares. */
export interface InstallContext {
  series: string;
  layout: InstallationLayout;
  source: { url: string; sha256: string | undefined };
  pipIndexUrl: string | undefined;
  python: string;
  /** Milliseconds without a byte after which the download is abandoned. */
  downloadIdleMs: number;
  /** The SHA-256 of the archive the download step kept (the row's `archive_sha256`). */
  archiveSha256: string | null;
  /** Tells the operator what the step is doing now (written to the row, throttled by the caller). */
  progress(detail: string): void;
  /** Records the downloaded archive's SHA-256 on the installation. */
  recordArchive(sha256: string): Promise<void>;
  /** A throwaway database initialised with `-i base` by this installation, then dropped. */
  checkBase(odoo: OdooInstallation): Promise<void>;
  /** Appends to the installation's log (pip's and Odoo's output). */
  log(chunk: Buffer | string): void;
}

/** One installer step: what it does, and whether what an earlier attempt did still holds. */
export interface InstallStepDefinition {
  name: InstallStep;
  run(context: InstallContext): Promise<void>;
  /** True when the step's end state holds, so a resumed job skips it. */
  holds(context: InstallContext): Promise<boolean>;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Why a download could not start, in words an operator can act on. */
function unreachable(url: string, error: unknown): Error {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return new Error(
    `cannot reach ${new URL(url).host} to download ${url} (${why}): this machine has no route to it. ` +
      'Set ODOO_SOURCE_URL_<16|17|18> to a mirror it can reach (see docs/operations/odoo.md).',
  );
}

const download: InstallStepDefinition = {
  name: 'download',
  async holds(context) {
    const { layout, source } = context;
    if (!existsSync(layout.archive) || (await readText(layout.archiveSource)) !== source.url) return false;
    const sha = await sha256Of(layout.archive);
    return source.sha256 ? sha === source.sha256 : sha === context.archiveSha256;
  },
  async run(context) {
    const { layout, source } = context;
    await mkdir(layout.root, { recursive: true });
    const partial = `${layout.archive}.partial`;
    await rm(partial, { force: true });
    // A mirror that stops sending would otherwise hold the job (and the one install slot) until
    // its hour-long timeout: every byte re-arms the timer, silence aborts the request.
    const stalled = new AbortController();
    let idleTimer: NodeJS.Timeout | undefined;
    const rearm = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => stalled.abort(), context.downloadIdleMs);
    };
    const stallError = () =>
      new Error(
        `the download from ${source.url} stalled: nothing received for ${Math.round(context.downloadIdleMs / 1000)} s. ` +
          'Install again to retry, or set ODOO_SOURCE_URL_<16|17|18> to a mirror that answers (see docs/operations/odoo.md).',
      );
    rearm();
    let received = 0;
    const hash = createHash('sha256');
    try {
      let response: Response;
      try {
        response = await fetch(source.url, { redirect: 'follow', signal: stalled.signal });
      } catch (error) {
        throw stalled.signal.aborted ? stallError() : unreachable(source.url, error);
      }
      if (!response.ok || !response.body) {
        throw new Error(
          `downloading ${source.url} answered HTTP ${response.status}: check the URL of Odoo ${context.series}'s source archive`,
        );
      }
      const total = Number(response.headers.get('content-length') ?? 0);
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          rearm();
          hash.update(chunk);
          received += chunk.length;
          context.progress(total > 0 ? `${mib(received)} of ${mib(total)} downloaded` : `${mib(received)} downloaded`);
          callback(null, chunk);
        },
      });
      try {
        // biome-ignore lint/suspicious/noExplicitAny: the DOM ReadableStream type of fetch and Node's differ only in name
        await pipeline(Readable.fromWeb(response.body as any), counter, createWriteStream(partial));
      } catch (error) {
        await rm(partial, { force: true });
        throw stalled.signal.aborted ? stallError() : error;
      }
    } finally {
      clearTimeout(idleTimer);
    }
    const sha = hash.digest('hex');
    if (source.sha256 && sha !== source.sha256) {
      await rm(partial, { force: true });
      throw new Error(
        `the archive from ${source.url} has SHA-256 ${sha}, not the expected ${source.sha256}: it was not installed ` +
          '(a changed or corrupted download; check the URL and the checksum configured for it)',
      );
    }
    await rename(partial, layout.archive);
    await writeFile(layout.archiveSource, source.url);
    await context.recordArchive(sha);
    context.progress(`${mib(received)} downloaded, SHA-256 ${sha}`);
  },
};

/** Odoo's launcher in a source tree: `odoo-bin` in a checkout, `setup/odoo` in a packaged archive. */
function launcherOf(src: string): string | undefined {
  return ['odoo-bin', join('setup', 'odoo')].map((name) => join(src, name)).find((path) => existsSync(path));
}

const unpack: InstallStepDefinition = {
  name: 'unpack',
  async holds(context) {
    return (await readText(context.layout.unpacked)) === context.archiveSha256 && launcherOf(context.layout.src) !== undefined;
  },
  async run(context) {
    const { layout } = context;
    const partial = `${layout.src}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    context.progress('unpacking the archive');
    await runCommand('tar', ['-xzf', layout.archive, '-C', partial, '--no-same-owner']);
    // The archive holds one top directory (odoo-17.0.post2024...): that is the source tree.
    const entries = await readdir(partial, { withFileTypes: true });
    const top = entries.length === 1 && entries[0]?.isDirectory() ? join(partial, entries[0].name) : partial;
    if (!existsSync(join(top, 'requirements.txt')) || !launcherOf(top)) {
      await rm(partial, { recursive: true, force: true });
      throw new Error('the archive is not an Odoo source tree: it has no requirements.txt and odoo-bin (or setup/odoo) at its top');
    }
    await rm(layout.src, { recursive: true, force: true });
    await rename(top, layout.src);
    await rm(partial, { recursive: true, force: true });
    await writeFile(layout.unpacked, context.archiveSha256 ?? '');
  },
};

const venv: InstallStepDefinition = {
  name: 'venv',
  async holds(context) {
    return existsSync(context.layout.python) && existsSync(context.layout.venvComplete);
  },
  async run(context) {
    const { layout } = context;
    // A half-made environment (a killed attempt) is made again: its scripts name absolute paths.
    await rm(layout.venv, { recursive: true, force: true });
    context.progress(`creating the virtual environment with ${context.python}`);
    try {
      await runCommand(context.python, ['-m', 'venv', layout.venv], { env: toolEnvironment() });
    } catch (error) {
      await rm(layout.venv, { recursive: true, force: true });
      const said = (error as Error).message;
      if (/ensurepip|venv/.test(said) && /not available|No module named/.test(said))
        throw new Error(
          `${context.python} cannot create virtual environments: install the Debian package python3-venv (npm start does). ${said}`,
        );
      throw error;
    }
    await writeFile(layout.venvComplete, '');
  },
};

/** PATH, HOME, locale, proxies and pip's own settings: pip needs them, and none of the platform's secrets. */
function toolEnvironment(): NodeJS.ProcessEnv {
  const keep = /^(PATH|HOME|LANG|LC_ALL|TMPDIR|PIP_.*|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|SSL_CERT_FILE|REQUESTS_CA_BUNDLE)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => keep.test(name)));
}

async function requirementsStamp(context: InstallContext): Promise<string> {
  const requirements = await readFile(join(context.layout.src, 'requirements.txt'));
  return `${createHash('sha256').update(requirements).digest('hex')} ${context.pipIndexUrl ?? 'pip-default-index'}`;
}

const requirements: InstallStepDefinition = {
  name: 'requirements',
  async holds(context) {
    return (await readText(context.layout.requirementsStamp)) === (await requirementsStamp(context));
  },
  async run(context) {
    const { layout } = context;
    const args = ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '-r', join(layout.src, 'requirements.txt')];
    if (context.pipIndexUrl) args.push('--index-url', context.pipIndexUrl);
    context.progress('pip install -r requirements.txt');
    await runCommand(layout.python, args, {
      env: toolEnvironment(),
      cwd: layout.src,
      timeoutMs: 45 * 60_000,
      onOutput: (chunk) => {
        context.log(chunk);
        const line = chunk.toString().trim().split('\n').pop();
        if (line) context.progress(`pip: ${line.slice(0, 200)}`);
      },
    }).catch((error: unknown) => {
      throw new Error(
        `pip could not install Odoo ${context.series}'s requirements (see ${layout.log}): ${(error as Error).message.slice(-1500)}. ` +
          "Odoo's pins build some packages from source: the Debian packages python3-dev, libpq-dev, libldap2-dev, libsasl2-dev are needed then.",
      );
    });
    await writeFile(layout.requirementsStamp, await requirementsStamp(context));
  },
};

/** The installation as the platform runs it: the wrapper script. */
export function installedOdoo(layout: InstallationLayout): OdooInstallation {
  return { bin: layout.bin };
}

const checkVersion: InstallStepDefinition = {
  name: 'check_version',
  holds: async () => false,
  async run(context) {
    const { layout } = context;
    const launcher = launcherOf(layout.src);
    if (!launcher) throw new Error(`no odoo-bin in ${layout.src}`);
    await writeFile(layout.bin, wrapperScript(layout.python, launcher));
    await chmod(layout.bin, 0o755);
    context.progress('odoo-bin --version');
    const version = await detectOdooVersion(installedOdoo(layout)).catch((error: unknown) => {
      throw new Error(`the installed Odoo does not start: odoo-bin --version failed: ${(error as Error).message.slice(-1500)}`);
    });
    if (version !== context.series)
      throw new Error(`the archive is Odoo ${version}, not ${context.series}: check the source URL configured for ${context.series}`);
  },
};

const checkBase: InstallStepDefinition = {
  name: 'check_base',
  holds: async () => false,
  async run(context) {
    context.progress('initialising a throwaway database with -i base');
    await context.checkBase(installedOdoo(context.layout));
  },
};

/** The steps the job runs, in order (register is the service's own last write). */
export const INSTALLER_STEPS: readonly InstallStepDefinition[] = [download, unpack, venv, requirements, checkVersion, checkBase];
