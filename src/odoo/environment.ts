/**
 * Variables Odoo needs from the platform's environment: everything else stays out, above all
 * the platform's secrets (SECRET_KEY, DATABASE_URL, SMTP_URL...). Every Odoo the platform starts,
 * long-running or one-shot, runs addon code next to tenant data.
 */
const INHERITED_VARIABLES = /^(PATH|HOME|USER|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|PYTHON[A-Z_]*|VIRTUAL_ENV)$/;

export function odooEnvironment(platform: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(platform)) {
    if (value !== undefined && INHERITED_VARIABLES.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}
