/**
 * Which lines of a shared pool's log a tenant may read. Odoo writes one header line per record,
 * `<date> <time>,<ms> <pid> <LEVEL> <database> <logger>: <message>`, with the database the
 * request or cron job works on (`?` when none), followed by continuation lines (tracebacks,
 * multi-line messages). A tenant gets the records whose database field is exactly its own and
 * their continuation lines: matching the field rather than searching the text keeps out another
 * tenant's record that merely mentions this tenant's database name, and lines of unknown origin
 * (output before logging is set up, records without a database) are never shown to a tenant.
 */
const ODOO_RECORD_HEADER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \d+ [A-Z]+ (\S+) /;

/** The database field of a record header; `undefined` for a continuation line. */
export function databaseOfLogLine(line: string): string | undefined {
  return ODOO_RECORD_HEADER.exec(line)?.[1];
}

/** The lines of records written for `databaseName`, in order. */
export function linesOfDatabase(lines: readonly string[], databaseName: string): string[] {
  const kept: string[] = [];
  let keeping = false;
  for (const line of lines) {
    const database = databaseOfLogLine(line);
    if (database !== undefined) keeping = database === databaseName;
    if (keeping) kept.push(line);
  }
  return kept;
}

/** The last `count` entries (all when fewer). */
export function lastLines(lines: readonly string[], count: number): string[] {
  if (count <= 0) return [];
  return lines.slice(Math.max(0, lines.length - count));
}

/**
 * Lines of a chunk read from the end of a file. `firstLineComplete` is false when the chunk
 * starts in the middle of a line (the byte before it is not a newline): that cut line is
 * dropped. A trailing newline adds no empty line.
 */
export function splitTail(text: string, firstLineComplete: boolean): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (!firstLineComplete) lines.shift();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}
