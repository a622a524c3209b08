/**
 * Masks credentials in free text (error messages, command lines, tool output) before it is
 * stored, logged or shown: the password of a URL (`postgres://user:pw@host`), and
 * `password=...` / `passwd = ...` settings (libpq connection strings, URL query parameters,
 * PGPASSWORD, Odoo's db_password and admin_passwd).
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s@/?#]*@/gi, '$1***@')
    .replace(/(pass(?:word|wd)\s*=\s*)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&,;]+)/gi, '$1***');
}
