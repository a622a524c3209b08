/**
 * How to run a PostgreSQL client program (pg_dump, pg_restore, psql) against a server the
 * platform knows by URL, without its password on the command line: any local user, tenant Odoo
 * processes included, can read /proc/<pid>/cmdline, while /proc/<pid>/environ is readable only
 * by the same user and root. So the connection goes as a libpq keyword/value string without the
 * password (`--dbname="host=... port=... user=... dbname=..."`), and the password as PGPASSWORD
 * in an environment that carries nothing else of the platform's (no SECRET_KEY, no DATABASE_URL).
 */
export interface PostgresClientCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** What a client program needs from the platform's environment: locale, paths, libpq's own PG* settings. */
const INHERITED_VARIABLES = /^(PATH|HOME|USER|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|PG[A-Z_]+)$/;

/** Query parameters of a URL that are secrets. sslpassword has no environment variable: refused. */
const PASSWORD_PARAMETER = 'password';
const UNSUPPORTED_SECRET_PARAMETERS = ['sslpassword'];

/** A libpq connection-string value: single-quoted, with `\` and `'` escaped. */
function conninfoValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * `file args... --dbname=<connection without password>`, with the password in `env`.
 * `args` must hold no connection options of their own.
 */
export function postgresClientCommand(
  file: string,
  args: readonly string[],
  connectionUrl: string,
  platformEnv: NodeJS.ProcessEnv = process.env,
): PostgresClientCommand {
  const url = new URL(connectionUrl);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('not a postgres:// URL');
  const keywords: Array<[string, string]> = [];
  // URL.hostname keeps the brackets of an IPv6 address; libpq wants the bare address.
  if (url.hostname) keywords.push(['host', url.hostname.replace(/^\[(.*)\]$/, '$1')]);
  if (url.port) keywords.push(['port', url.port]);
  if (url.username) keywords.push(['user', decodeURIComponent(url.username)]);
  if (url.pathname.length > 1) keywords.push(['dbname', decodeURIComponent(url.pathname.slice(1))]);
  let password = url.password ? decodeURIComponent(url.password) : undefined;
  for (const [name, value] of url.searchParams) {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`${JSON.stringify(name.slice(0, 40))} is not a connection parameter`);
    if (UNSUPPORTED_SECRET_PARAMETERS.includes(name)) throw new Error(`${name} in a server URL is not supported`);
    if (name === PASSWORD_PARAMETER) password = value;
    else keywords.push([name, value]);
  }

  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(platformEnv)) {
    if (value !== undefined && INHERITED_VARIABLES.test(name)) env[name] = value;
  }
  delete env.PGPASSWORD;
  if (password !== undefined) env.PGPASSWORD = password;
  const conninfo = keywords.map(([name, value]) => `${name}=${conninfoValue(value)}`).join(' ');
  return { file, args: [...args, `--dbname=${conninfo}`], env };
}
