/**
 * Reading a request target the way every upstream could read it. Pure.
 *
 * The gateway checks a request by the route it reaches, so the gateway and the server behind it
 * must never disagree about that route. They can: Odoo's werkzeug percent-decodes the path once
 * and takes `\`, `.` and `..` literally; a WHATWG URL parser (Node, the fake Odoo) reads `\` as
 * `/`, resolves dot segments (also `%2e` ones) and decodes nothing; other servers merge slashes,
 * ignore case or cut `;params`; Odoo's language router (`http_routing`) drops an unknown first
 * segment. So the path is not normalised into one guess: it is read under every combination of
 * those choices (`readings`), the caller classifies each reading, and anything the readings do
 * not agree on is refused. Spellings no reading can make harmless are refused here outright:
 * - anything but visible ASCII, and `#` (a fragment has no place in a request);
 * - a path starting with two separators (`//host/path`: URL parsers take `host` for a host name);
 * - percent-encoded separators, dots, `;`, `?`, `#` and control characters (`%2f %5c %2e %3b
 *   %3f %23 %00`): whether they count as structure depends on when a server decodes;
 * - double encoding (`%252f`): a server decoding twice would see a separator;
 * - encoded bytes that are not UTF-8 (overlong `%c0%af` = `/` for sloppy decoders), and
 *   non-ASCII characters that fold into ASCII structure (fullwidth `／`, `．`, `％`, ...).
 *
 * The path sent upstream is one of the readings (decoded once, `\` as `/`, dot segments
 * resolved, repeated slashes merged, case and `;params` kept), re-encoded so that every reader
 * sees those same segments: the upstream dispatches exactly what the guard classified.
 */

export type TargetReading =
  | {
      ok: true;
      /** The path's segments (the part after each `/`) under every plausible reading, deduplicated. */
      readings: readonly (readonly string[])[];
      /** The canonical path plus the query exactly as received: what is sent upstream. */
      upstreamTarget: string;
    }
  | { ok: false; reason: string };

const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
const PERCENT_ESCAPES = /%([0-9a-fA-F]{2})/g;
const HAS_PERCENT_ESCAPE = /%[0-9a-fA-F]{2}/;
/** Bytes whose meaning changes with the moment a server decodes: refused when percent-encoded. */
const STRUCTURAL_BYTES = new Set(['/', '\\', '.', ';', '?', '#'].map((char) => char.charCodeAt(0)));
/** What a folded non-ASCII character must not become: a control, a space, or path structure. */
function hasAsciiStructure(text: string): boolean {
  return [...text].some((char) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f || '/\\.;?#%'.includes(char));
}
/** Characters kept as they are in the path sent upstream (RFC 3986 pchar minus `%`). */
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A non-ASCII character as a sloppy server might compare it: compatibility-folded (`ｊ` -> `j`),
 * unaccented (`ć` -> `c`), case-folded through upper case (`ß` -> `ss`, `K` (Kelvin) -> `k`).
 */
function foldCharacter(char: string): string {
  return char
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase();
}

/** Decodes every valid `%XX` once, as werkzeug does; undefined when the bytes are not UTF-8. */
function percentDecode(path: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const hex = path[i] === '%' ? /^[0-9a-fA-F]{2}$/.exec(path.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(Number.parseInt(hex[0], 16));
      i += 2;
    } else bytes.push(path.charCodeAt(i));
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** Why the path's percent-encoding or characters are refused, if they are. */
function refuseEncoding(path: string, decoded: string | undefined): string | undefined {
  for (const [, hex] of path.matchAll(PERCENT_ESCAPES)) {
    const byte = Number.parseInt(hex ?? '', 16);
    if (byte < 0x20 || byte === 0x7f || STRUCTURAL_BYTES.has(byte)) return 'percent-encoded separator, dot or control character';
  }
  if (decoded === undefined) return 'percent-encoded bytes that are not UTF-8';
  if (HAS_PERCENT_ESCAPE.test(decoded)) return 'double percent-encoding';
  for (const char of decoded) {
    if (char.charCodeAt(0) < 0x80) continue;
    if (/[\p{C}\p{Z}]/u.test(char) || hasAsciiStructure(foldCharacter(char))) return 'non-ASCII character that reads as ASCII structure';
  }
  return undefined;
}

/** RFC 3986 / WHATWG dot-segment removal: `.` goes, `..` removes the one before; a final one leaves a trailing slash. */
function removeDotSegments(segments: readonly string[]): string[] {
  const output: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') output.pop();
      if (last) output.push('');
    } else output.push(segment);
  });
  return output;
}

/** How repeated or leading slashes are read: kept (werkzeug in Odoo), merged, or only leading ones dropped (werkzeug's Map). */
function emptySegmentVariants(segments: readonly string[]): string[][] {
  const trailing = segments.length > 1 && segments.at(-1) === '';
  const body = trailing ? segments.slice(0, -1) : segments;
  const merged = body.filter((segment) => segment !== '');
  const firstNamed = body.findIndex((segment) => segment !== '');
  const leadingDropped = firstNamed < 0 ? body : body.slice(firstNamed);
  return [segments, merged, leadingDropped].map((variant) => (trailing ? [...variant, ''] : [...variant]));
}

interface StructureChoice {
  backslashIsSlash: boolean;
  cutParameters: boolean;
  resolveDots: boolean;
}

function segmentsOf(path: string, choice: StructureChoice): string[] {
  const separated = choice.backslashIsSlash ? path.replaceAll('\\', '/') : path;
  let segments = separated.slice(1).split('/');
  if (choice.cutParameters) segments = segments.map((segment) => segment.split(';')[0] ?? '');
  return choice.resolveDots ? removeDotSegments(segments) : segments;
}

function choices(path: string): StructureChoice[] {
  const options = (relevant: boolean) => (relevant ? [false, true] : [false]);
  const result: StructureChoice[] = [];
  for (const backslashIsSlash of options(path.includes('\\')))
    for (const cutParameters of options(path.includes(';')))
      for (const resolveDots of options(/(^|[/\\])\.\.?($|[/\\;])/.test(path)))
        result.push({ backslashIsSlash, cutParameters, resolveDots });
  return result;
}

/** Every reading of the path: decoded or not, Unicode-folded or not, each structure choice, slashes, trailing slash, case. */
function readingsOf(rawPath: string, decoded: string): string[][] {
  const texts = new Set([rawPath, decoded, [...decoded].map((char) => (char.charCodeAt(0) < 0x80 ? char : foldCharacter(char))).join('')]);
  const seen = new Map<string, string[]>();
  const add = (segments: string[]) => seen.set(segments.join('/'), segments);
  for (const text of texts) {
    for (const choice of choices(text)) {
      for (const variant of emptySegmentVariants(segmentsOf(text, choice))) {
        const withoutTrailing = variant.length > 1 && variant.at(-1) === '' ? variant.slice(0, -1) : variant;
        for (const segments of [variant, withoutTrailing]) {
          add(segments);
          add(segments.map((segment) => segment.toLowerCase()));
        }
      }
    }
  }
  return [...seen.values()];
}

function encodeSegment(segment: string): string {
  let encoded = '';
  for (const char of segment) {
    if (PATH_SAFE.test(char)) encoded += char;
    else for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The path sent upstream: decoded once, `\` as `/`, dots resolved, slashes merged, then re-encoded. */
function canonicalPath(decoded: string): string {
  const segments = segmentsOf(decoded, { backslashIsSlash: true, cutParameters: false, resolveDots: true });
  const merged = emptySegmentVariants(segments)[1] ?? segments;
  return `/${merged.map(encodeSegment).join('/')}`;
}

/** Reads an origin-form request target (`/path?query`); anything else is refused. */
export function readRequestTarget(target: string): TargetReading {
  // Absolute-form (`http://other/...`) would let werkzeug take the host from the URL and defeat
  // the host-bound dbfilter; `*` and authority-form are not for Odoo either.
  if (!target.startsWith('/')) return { ok: false, reason: 'request target is not a path' };
  if (!VISIBLE_ASCII.test(target)) return { ok: false, reason: 'control, space or non-ASCII byte in the request target' };
  if (target.includes('#')) return { ok: false, reason: 'fragment in the request target' };
  const queryStart = target.indexOf('?');
  const rawPath = queryStart < 0 ? target : target.slice(0, queryStart);
  const query = queryStart < 0 ? '' : target.slice(queryStart);
  if (/^\/[/\\]/.test(rawPath)) return { ok: false, reason: 'path starts with two separators' };
  const decoded = percentDecode(rawPath);
  const refusal = refuseEncoding(rawPath, decoded);
  if (refusal !== undefined || decoded === undefined) return { ok: false, reason: refusal ?? 'unreadable path' };
  return { ok: true, readings: readingsOf(rawPath, decoded), upstreamTarget: `${canonicalPath(decoded)}${query}` };
}
