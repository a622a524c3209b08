import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors/index.js';
import { createLogger } from '../../src/logging/index.js';
import { postgresClientCommand } from '../../src/postgres/index.js';
import { redactCredentials } from '../../src/secrets/index.js';

/** Issue 15 item 3: passwords never on a command line, in an error message or in a log line. */

describe('postgresClientCommand', () => {
  const platformEnv = {
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    PGSSLROOTCERT: '/etc/ssl/root.crt',
    PGPASSWORD: 'inherited-password',
    SECRET_KEY: 'platform-secret-key',
    DATABASE_URL: 'postgres://platform:platform-db-pw@127.0.0.1/platform',
  };

  it('passes the connection without its password as arguments, and the password in the environment only', () => {
    const command = postgresClientCommand(
      '/usr/bin/pg_dump',
      ['--format=custom'],
      'postgres://ad%20min:p%40ss%2Fw0rd@db.example.com:6543/scratch_t_x?sslmode=require',
      platformEnv,
    );
    expect(command.file).toBe('/usr/bin/pg_dump');
    expect(command.args).toEqual([
      '--format=custom',
      "--dbname=host='db.example.com' port='6543' user='ad min' dbname='scratch_t_x' sslmode='require'",
    ]);
    // Only what a client needs: no platform secret, no inherited password.
    expect(command.env).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8', PGSSLROOTCERT: '/etc/ssl/root.crt', PGPASSWORD: 'p@ss/w0rd' });
  });

  it('takes a password given as a query parameter out of the arguments too', () => {
    const command = postgresClientCommand('pg_restore', [], 'postgresql://u@[::1]/d?password=qp-secret&application_name=copy', {});
    expect(command.args).toEqual(["--dbname=host='::1' user='u' dbname='d' application_name='copy'"]);
    expect(command.env).toEqual({ PGPASSWORD: 'qp-secret' });
  });

  it('quotes values so that a name cannot add connection options', () => {
    const command = postgresClientCommand('pg_dump', [], `postgres://u:p@h/${encodeURIComponent("x' host='evil\\")}`, {});
    expect(command.args).toEqual(["--dbname=host='h' user='u' dbname='x\\' host=\\'evil\\\\'"]);
  });

  it('refuses what it cannot keep off the command line, and non-postgres URLs', () => {
    expect(() => postgresClientCommand('pg_dump', [], 'postgres://u@h/d?sslpassword=x', {})).toThrow(/sslpassword/);
    expect(() => postgresClientCommand('pg_dump', [], 'postgres://u@h/d?a%3Db=x', {})).toThrow(/not a connection parameter/);
    expect(() => postgresClientCommand('pg_dump', [], 'mysql://u:p@h/d', {})).toThrow(/postgres/);
  });
});

describe('redactCredentials', () => {
  it.each([
    ['postgres://platform:s3cr3t@127.0.0.1:5432/db', 'postgres://platform:***@127.0.0.1:5432/db'],
    ['--dbname=postgresql://u:p%40ss@h/d failed', '--dbname=postgresql://u:***@h/d failed'],
    ["host='h' user='u' password='it\\'s a \\\\ secret' dbname='d'", "host='h' user='u' password=*** dbname='d'"],
    ['postgres://u@h/d?password=qp&sslmode=require', 'postgres://u@h/d?password=***&sslmode=require'],
    ['PGPASSWORD=abc pg_dump', 'PGPASSWORD=*** pg_dump'],
    ['db_password = hunter22\nadmin_passwd = master', 'db_password = ***\nadmin_passwd = ***'],
  ])('masks %s', (text, expected) => {
    expect(redactCredentials(text)).toBe(expected);
  });

  it('leaves text without credentials alone', () => {
    const text = 'pg_restore: error: FATAL: password authentication failed for user "r_acme" at https://example.com/x';
    expect(redactCredentials(text)).toBe(text);
  });
});

describe('errors and logs', () => {
  it('CommandError masks credentials in the command and in the output', () => {
    const error = new CommandError(
      'pg_dump --dbname=postgres://platform:cmd-secret@127.0.0.1/x',
      1,
      'pg_dump: error: invalid URI "postgres://platform:out-secret@127.0.0.1/x"',
    );
    for (const text of [error.message, error.command, error.stderr]) {
      expect(text).not.toMatch(/cmd-secret|out-secret/);
    }
    expect(error.message).toContain('postgres://platform:***@127.0.0.1/x');
  });

  it('the logger masks credentials in logged errors, their causes and extra fields', () => {
    const output = new PassThrough();
    const lines: string[] = [];
    output.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const logger = createLogger('info', output);
    const cause = Object.assign(new TypeError('Invalid URL'), { input: 'postgres://u:input-secret@h:bad/d' });
    logger.error({ err: new Error('cannot reach postgres://u:message-secret@h/d', { cause }) }, 'copy failed');
    const written = lines.join('');
    expect(written).toContain('copy failed');
    expect(written).toContain('postgres://u:***@h/d');
    expect(written).not.toMatch(/input-secret|message-secret/);
  });
});
