/**
 * The one helper that puts names into SQL. PostgreSQL identifiers cannot be bound as query
 * parameters, so every database, role or schema name goes through `quoteIdentifier`.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new Error('SQL identifier must not be empty');
  if (Buffer.byteLength(name) > 63) throw new Error(`SQL identifier longer than 63 bytes: ${name.slice(0, 20)}…`);
  if (name.includes('\0')) throw new Error('SQL identifier must not contain NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal for the few statements that take no parameters (e.g. CREATE ROLE ... PASSWORD). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('SQL literal must not contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}
