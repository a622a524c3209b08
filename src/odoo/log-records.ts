/**
 * Odoo's log as records an operator can search. Odoo writes one header line per record,
 * `<date> <time>,<ms> <pid> <LEVEL> <database> <logger>: <message>` (werkzeug's request lines
 * included), followed by continuation lines (tracebacks, multi-line messages), which belong to
 * the record above them. Odoo stamps records in the process's local time; the platform starts
 * Odoo without a TZ of its own, so on a server in UTC (the norm) the stamps are UTC.
 */
export const ODOO_LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type OdooLogLevelName = (typeof ODOO_LOG_LEVELS)[number];

export interface OdooLogRecord {
  /** ISO 8601 (read as UTC); null for lines before Odoo's logging started. */
  at: string | null;
  level: OdooLogLevelName | null;
  database: string | null;
  logger: string | null;
  /** The header line and its continuation lines, as written. */
  lines: string[];
}

export interface OdooLogQuery {
  /** Case-insensitive text anywhere in the record (its traceback included). */
  text?: string | undefined;
  /** This level and above. */
  minLevel?: OdooLogLevelName | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

const HEADER = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) \d+ ([A-Z]+) (\S+) ([^:\s]+):/;

function levelOf(word: string): OdooLogLevelName | null {
  return (ODOO_LOG_LEVELS as readonly string[]).includes(word) ? (word as OdooLogLevelName) : null;
}

export function parseOdooLog(lines: readonly string[]): OdooLogRecord[] {
  const records: OdooLogRecord[] = [];
  let current: OdooLogRecord | undefined;
  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header) {
      const [, day, time, ms, level = '', database = '', logger = ''] = header;
      current = { at: `${day}T${time}.${ms}Z`, level: levelOf(level), database: database === '?' ? null : database, logger, lines: [line] };
      records.push(current);
    } else if (current) {
      current.lines.push(line);
    } else {
      current = { at: null, level: null, database: null, logger: null, lines: [line] };
      records.push(current);
    }
  }
  return records;
}

/** The records that match every given criterion, in order. */
export function searchOdooLog(records: readonly OdooLogRecord[], query: OdooLogQuery): OdooLogRecord[] {
  const text = query.text?.trim().toLowerCase();
  const minRank = query.minLevel ? ODOO_LOG_LEVELS.indexOf(query.minLevel) : -1;
  return records.filter((record) => {
    if (minRank >= 0 && (record.level === null || ODOO_LOG_LEVELS.indexOf(record.level) < minRank)) return false;
    if (query.since || query.until) {
      if (!record.at) return false;
      const at = Date.parse(record.at);
      if (query.since && at < query.since.getTime()) return false;
      if (query.until && at > query.until.getTime()) return false;
    }
    return !text || record.lines.some((line) => line.toLowerCase().includes(text));
  });
}
