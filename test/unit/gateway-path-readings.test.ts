/**
 * Differential test of the gateway's path reading (src/gateway/request-target.ts, rpc-paths.ts)
 * against the servers that could sit behind it. For a generated corpus of path spellings, the
 * guard's class (open / inspect <endpoint> / deny / refused 400) must equal the route each
 * upstream model dispatches to, or the guard must refuse with 400. A request the guard accepts is
 * also sent upstream in its canonical form, so that form must dispatch to the same class on every
 * model, and reading it again must change nothing.
 *
 * The models, and the rules they follow (each written here from the upstream's documented or
 * source behaviour, independently of the guard's code):
 *
 * 1. fake Odoo: its real dispatch function (test/fixtures/fake-odoo/lib/routes.mjs, the one its
 *    server uses): WHATWG URL parsing (`\` is `/`, dot segments incl. `%2e` resolved, a leading
 *    `//x` is a host, nothing decoded), then exact matching.
 * 2. WHATWG URL + werkzeug routing: `new URL(target, 'http://h').pathname` (what a Node front end
 *    sees), percent-decoded once, then Odoo's routing rules as in 3. The most permissive mix:
 *    backslashes, dot segments and percent-decoding all apply.
 * 3. Odoo on werkzeug 2.0-3.x (Odoo 16-18), read from werkzeug's source (serving.py, routing/map.py,
 *    routing/matcher.py) and Odoo's http.py / ir_http.py:
 *    - Python's http.server turns a leading `//+` into `/` (gh-87389; older Pythons give the same
 *      path through werkzeug's "netloc was part of the path" fix-up);
 *    - werkzeug's dev server: `urlsplit` (fragment at `#`, query at `?`), then PATH_INFO =
 *      `unquote(path)`: every `%XX` decoded once, `%2F` included, invalid UTF-8 replaced by U+FFFD;
 *      `\`, `.`, `..` and `;` stay literal (no dot-segment resolution anywhere);
 *    - `MapAdapter.match` strips leading slashes (`"/" + path_info.lstrip("/")`);
 *    - Odoo builds its Map with `strict_slashes=False` (one trailing slash is accepted) and every
 *      rule with `merge_slashes=False` (`//` inside a path matches nothing: no merge redirect);
 *    - rules are case-sensitive; `<service>` is werkzeug's default converter `[^/]+`, tried after
 *      the static `2` (so `/xmlrpc/2` is service "2");
 *    - the query string never takes part in routing (it is split off before PATH_INFO).
 * 4. Odoo with `http_routing` (installed with website, portal, ...): as 3, and a path that matches
 *    nothing is matched again without its first segment when that segment is the URL code of an
 *    active language (`ir_http._match`, step 9: `request.reroute(path_no_lang)`, POST included).
 *    A tenant's admin can give a language any URL code, so the model assumes the first segment is one.
 *
 * Bytes outside visible ASCII are not read by the models: Node's HTTP parser answers 400 before the
 * gateway sees them (the guard refuses them too; see the integration test).
 */
import { describe, expect, it } from 'vitest';
import { routeRequestTarget } from '../../src/gateway/index.js';
import { DATABASE_MANAGER_ACTIONS, resolveRoute } from '../fixtures/fake-odoo/lib/routes.mjs';

/** What the guard must do with a request reaching a route. */
type GuardClass = string;

// ---- Odoo's routes as werkzeug rules -------------------------------------------------------

type OdooRoute = { name: 'jsonrpc' | 'session-authenticate' | 'database-manager' | 'other' } | { name: 'xmlrpc'; service: string };

const ODOO_RULES: readonly { rule: string; route: (values: string[]) => OdooRoute }[] = [
  { rule: '/jsonrpc', route: () => ({ name: 'jsonrpc' }) },
  { rule: '/xmlrpc/2/<service>', route: ([service]) => ({ name: 'xmlrpc', service: service ?? '' }) },
  { rule: '/xmlrpc/<service>', route: ([service]) => ({ name: 'xmlrpc', service: service ?? '' }) },
  { rule: '/web/session/authenticate', route: () => ({ name: 'session-authenticate' }) },
  ...DATABASE_MANAGER_ACTIONS.map((action) => ({
    rule: `/web/database/${action}`,
    route: (): OdooRoute => ({ name: 'database-manager' }),
  })),
  ...['/', '/web', '/web/login', '/web/health', '/web/session/get_session_info', '/websocket', '/longpolling/poll'].map((rule) => ({
    rule,
    route: (): OdooRoute => ({ name: 'other' }),
  })),
];

/** One werkzeug rule against a PATH_INFO already left-stripped: static parts first, `<x>` = `[^/]+`, one optional trailing slash. */
function matchRule(rule: string, path: string): string[] | undefined {
  const ruleParts = rule === '/' ? [''] : rule.slice(1).split('/');
  let parts = path.slice(1).split('/');
  if (parts.length === ruleParts.length + 1 && parts.at(-1) === '' && rule !== '/') parts = parts.slice(0, -1);
  if (parts.length !== ruleParts.length) return undefined;
  const values: string[] = [];
  for (const [index, rulePart] of ruleParts.entries()) {
    const part = parts[index] ?? '';
    if (rulePart.startsWith('<')) {
      if (part === '') return undefined;
      values.push(part);
    } else if (rulePart !== part) return undefined;
  }
  return values;
}

/** `MapAdapter.match` with Odoo's Map: leading slashes stripped, first rule that matches (static before dynamic). */
function werkzeugMatch(pathInfo: string): OdooRoute | undefined {
  const path = `/${pathInfo.replace(/^\/+/, '')}`;
  for (const { rule, route } of ODOO_RULES) {
    const values = matchRule(rule, path);
    if (values) return route(values);
  }
  return undefined;
}

/** Python's `unquote`: each `%XX` once, then UTF-8 with U+FFFD for bad bytes. */
function pythonUnquote(text: string): string {
  const bytes = Buffer.from(
    text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  );
  return new TextDecoder('utf-8').decode(bytes);
}

function classOfOdooRoute(route: OdooRoute | undefined): GuardClass {
  if (!route) return 'open';
  if (route.name === 'jsonrpc') return 'inspect jsonrpc';
  if (route.name === 'session-authenticate') return 'inspect session-authenticate';
  if (route.name === 'database-manager') return 'deny http';
  if (route.name === 'xmlrpc')
    return route.service === 'common' || route.service === 'object' ? `inspect xmlrpc ${route.service}` : 'deny xmlrpc';
  return 'open';
}

// ---- the upstream models ----------------------------------------------------------------------

/** Odoo 16-18 on werkzeug: PATH_INFO as its dev server builds it. */
function werkzeugPathInfo(target: string): string {
  const collapsed = target.startsWith('//') ? `/${target.replace(/^\/+/, '')}` : target;
  const withoutFragment = collapsed.split('#')[0] ?? '';
  return pythonUnquote(withoutFragment.split('?')[0] ?? '');
}

/** A target a URL parser throws on (`//[x/...`) reaches no route: the server answers 400/500. */
function unlessUnparseable(read: (target: string) => GuardClass): (target: string) => GuardClass {
  return (target) => {
    try {
      return read(target);
    } catch {
      return 'open';
    }
  };
}

const MODELS: Record<string, (target: string) => GuardClass> = {
  'fake Odoo': unlessUnparseable((target) => {
    const route = resolveRoute(target);
    if (route.name === 'xmlrpc') return classOfOdooRoute({ name: 'xmlrpc', service: route.service ?? '' });
    if (route.name === 'jsonrpc' || route.name === 'session-authenticate' || route.name === 'database-manager')
      return classOfOdooRoute({ name: route.name });
    return 'open';
  }),
  'WHATWG URL + werkzeug routing': unlessUnparseable((target) =>
    classOfOdooRoute(werkzeugMatch(pythonUnquote(new URL(target, 'http://h').pathname))),
  ),
  'Odoo (werkzeug)': (target) => classOfOdooRoute(werkzeugMatch(werkzeugPathInfo(target))),
  'Odoo (werkzeug) + http_routing language prefix': (target) => {
    const pathInfo = werkzeugPathInfo(target);
    const asIs = werkzeugMatch(pathInfo);
    if (asIs) return classOfOdooRoute(asIs);
    // ir_http._match: `_, url_lang_str, *rest = path.split('/', 2)`; path_no_lang = '/' + rest[0]
    const path = `/${pathInfo.replace(/^\/+/, '')}`;
    const rest = path.split('/').slice(2).join('/');
    return classOfOdooRoute(werkzeugMatch(`/${rest}`));
  },
};

function guardClass(target: string): { cls: GuardClass; upstreamTarget?: string } {
  const routed = routeRequestTarget(target);
  if (!routed.ok) return { cls: '400' };
  const { route } = routed;
  const cls =
    route.kind === 'open'
      ? 'open'
      : route.kind === 'deny'
        ? `deny ${route.protocol}`
        : route.endpoint.protocol === 'xmlrpc'
          ? `inspect xmlrpc ${route.endpoint.service}`
          : `inspect ${route.endpoint.kind === 'service' ? 'jsonrpc' : 'session-authenticate'}`;
  return { cls, upstreamTarget: routed.upstreamTarget };
}

// ---- the corpus -------------------------------------------------------------------------------

const TARGETS = [
  '/jsonrpc',
  '/xmlrpc/2/db',
  '/xmlrpc/2/object',
  '/xmlrpc/2/common',
  '/xmlrpc/db',
  '/xmlrpc/object',
  '/xmlrpc/common',
  '/web/session/authenticate',
  '/web/database/list',
  '/web/database/manager',
  '/web/login',
  '/web',
  '/longpolling/poll',
];

const SEPARATORS = ['/', '\\', '%2f', '%5c', '//', '%2F'];
/** Dot segments and detours, placed before the path or after its first segment. */
const DETOURS = ['', '/.', '/x/..', '/%2e', '/x/%2e%2e', '/x/.%2e', '/x/%2E.', '\\x\\..', '/x/..;a', '/;a', '/fr', '/X/../x/..'];
const SUFFIXES = ['', '/', '//', ';x', '/;x', '/.', '/..', '/x/..', '?x=1', '?a=/../jsonrpc', '#x', '%00', '%20', '/%2e'];
const CASES: ((text: string) => string)[] = [(t) => t, (t) => t.toUpperCase(), (t) => t.replace(/[a-z]/, (c) => c.toUpperCase())];
/** One letter of the path spelled another way: percent-encoded, double-encoded, or a Unicode lookalike. */
const LETTER_SPELLINGS: ((letter: string) => string)[] = [
  (c) => c,
  (c) => `%${c.charCodeAt(0).toString(16)}`,
  (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  (c) => `%25${c.charCodeAt(0).toString(16)}`,
  (c) => encodeURIComponent(String.fromCodePoint(0xff00 + c.charCodeAt(0) - 0x20)), // fullwidth
  (c) => (c === 's' ? '%C5%BF' : c === 'k' ? '%E2%84%AA' : `${c}%CC%81`), // long s, Kelvin sign, combining accent
];
const SEPARATOR_LOOKALIKES = ['%c0%af', '%e0%80%af', '%ef%bc%8f', '%ef%bc%bc', '%c0%ae', '%u002f', '%%32%66', '%252f', '%255c', '%252e'];

function* product<T>(choices: readonly T[], length: number): Generator<T[]> {
  if (length === 0) {
    yield [];
    return;
  }
  for (const rest of product(choices, length - 1)) for (const choice of choices) yield [choice, ...rest];
}

/** Every combination of separators, detours and suffixes over each target (family "structure"). */
function* structureSpellings(): Generator<string> {
  for (const target of TARGETS) {
    const segments = target.slice(1).split('/');
    for (const separators of product(SEPARATORS, segments.length)) {
      const joined = segments.map((segment, i) => `${separators[i]}${segment}`);
      for (const detour of DETOURS) {
        for (const suffix of SUFFIXES) {
          yield `${detour}${joined.join('')}${suffix}`;
          if (joined.length > 1) yield `${joined[0]}${detour}${joined.slice(1).join('')}${suffix}`;
        }
      }
    }
  }
}

/** Case, letter spellings and lookalike separators (family "characters"). */
function* characterSpellings(): Generator<string> {
  for (const target of TARGETS) {
    for (const suffix of ['', '/', '?x']) {
      for (const changeCase of CASES) yield `${changeCase(target)}${suffix}`;
      for (let i = 1; i < target.length; i++) {
        const letter = target[i] ?? '';
        if (letter === '/') {
          for (const lookalike of SEPARATOR_LOOKALIKES) yield `${target.slice(0, i)}${lookalike}${target.slice(i + 1)}${suffix}`;
        } else for (const spell of LETTER_SPELLINGS) yield `${target.slice(0, i)}${spell(letter)}${target.slice(i + 1)}${suffix}`;
      }
    }
  }
}

const NASTIES = [
  '/x\\..\\jsonrpc',
  '/xmlrpc\\2\\db',
  '/\\jsonrpc',
  '/\\\\jsonrpc',
  '//x/jsonrpc',
  '//jsonrpc',
  '/%2fjsonrpc',
  '/%5cjsonrpc',
  '/.%2e/jsonrpc',
  '/%2e%2e/%2e%2e/jsonrpc',
  '/web/..%2fjsonrpc',
  '/web%2f..%2fjsonrpc',
  '/web/%2e%2e%5cjsonrpc',
  '/jsonrpc%3f',
  '/jsonrpc%23',
  '/jsonrpc%00',
  '/jsonrpc%0a',
  '/json%0drpc',
  '/jsonrpc\t',
  '/json rpc',
  '/jsonrpc%20',
  '/jsonrpc.',
  '/jsonrpc..',
  '/jsonrpc;',
  '/jsonrpc;/',
  '/..;/jsonrpc',
  '/x/..;/jsonrpc',
  '/fr/jsonrpc',
  '/fr//jsonrpc',
  '/fr_FR/xmlrpc/2/object',
  '/fr/web/session/authenticate',
  '/fr/web/database/manager',
  '/fr/web/login',
  '/web/login/../../jsonrpc',
  '/web/login/%2e%2e/%2e%2e/jsonrpc',
  '/xmlrpc/2/db/',
  '/xmlrpc/2/',
  '/xmlrpc/2',
  '/xmlrpc/',
  '/xmlrpc',
  '/xmlrpc/2/object/x',
  '/xmlrpc/3/object',
  '/xmlrpc//2/object',
  '/xmlrpc/2//object',
  '/web/database',
  '/web/database/',
  '/web/database/drop/x',
  '/web/session/authenticate/',
  '/web/session/authenticate/x',
  '/web/session//authenticate',
  '/jsonrpc/',
  '/jsonrpc/x',
  '/jsonrpcx',
  '/xjsonrpc',
  '/jsonrpc?',
  '/jsonrpc?/../xmlrpc/2/db',
  '/jsonrpc#/../xmlrpc/2/db',
  '/web/login?x#/../../jsonrpc',
  '/j%C5%BFonrpc',
  '/%EF%BD%8Asonrpc',
  '/jsonrp%C3%A7',
  '/json%E2%80%8Brpc',
  '/json%C2%ADrpc',
  '/%ef%bb%bfjsonrpc',
  '/xmlrpc%ef%bc%8f2%ef%bc%8fdb',
  '/%c0%ae%c0%ae/jsonrpc',
  '/%e0%80%ae./jsonrpc',
  '/web/content/100%25.pdf',
  '/web/content/100%2525.pdf',
  '/web/%zz',
  '/%',
  '/%%',
  '/',
  '/?',
  '/web/image/res.partner/3/image_128',
  '/web/assets/1/web.assets_web.min.js',
  '/shop/caf%C3%A9',
  '/blog/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8',
  '/websocket',
  '/longpolling/poll?ms=1',
];

function* corpus(): Generator<[family: string, target: string]> {
  for (const target of structureSpellings()) yield ['structure', target];
  for (const target of characterSpellings()) yield ['characters', target];
  for (const target of NASTIES) yield ['nasties', target];
}

/** The models only read what Node's HTTP parser lets through (visible ASCII). */
const REACHES_THE_GATEWAY = /^[\x21-\x7e]*$/;

interface Mismatch {
  target: string;
  guard: GuardClass;
  model: string;
  modelClass: GuardClass;
  sent?: string;
}

describe('gateway path readings against the upstream models', () => {
  it('never classes a spelling differently from an upstream, unless it refuses it with 400', () => {
    const mismatches: Mismatch[] = [];
    const counts = new Map<string, { total: number; refused: number }>();
    const seen = new Set<string>();
    for (const [family, target] of corpus()) {
      if (seen.has(target)) continue;
      seen.add(target);
      const count = counts.get(family) ?? { total: 0, refused: 0 };
      counts.set(family, count);
      count.total += 1;
      const guard = guardClass(target);
      if (guard.cls === '400') {
        count.refused += 1;
        continue;
      }
      // A target Node would not parse must never be accepted.
      if (!REACHES_THE_GATEWAY.test(target)) mismatches.push({ target, guard: guard.cls, model: 'Node HTTP parser', modelClass: '400' });
      for (const [model, read] of Object.entries(MODELS)) {
        const modelClass = read(target);
        if (modelClass !== guard.cls) mismatches.push({ target, guard: guard.cls, model, modelClass });
        // What is actually sent upstream must dispatch the same way.
        const sentClass = read(guard.upstreamTarget ?? '');
        if (sentClass !== guard.cls)
          mismatches.push({ target, guard: guard.cls, model, modelClass: sentClass, sent: guard.upstreamTarget });
      }
      const again = guardClass(guard.upstreamTarget ?? '');
      if (again.cls !== guard.cls || again.upstreamTarget !== guard.upstreamTarget) {
        mismatches.push({ target, guard: guard.cls, model: 'guard on its own output', modelClass: again.cls, sent: guard.upstreamTarget });
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    // The corpus is large and not refused wholesale: many odd spellings are accepted (and agree).
    expect(seen.size).toBeGreaterThan(50_000);
    for (const [family, count] of counts) {
      expect(count.refused, family).toBeGreaterThan(0);
      expect(count.total - count.refused, family).toBeGreaterThan(family === 'nasties' ? 10 : 200);
    }
  });

  it('accepts the plain spellings with the class every upstream gives them', () => {
    for (const target of TARGETS) {
      const guard = guardClass(target);
      expect(guard.cls, target).not.toBe('400');
      for (const [model, read] of Object.entries(MODELS)) expect(read(target), `${model}: ${target}`).toBe(guard.cls);
    }
    expect(guardClass('/jsonrpc').cls).toBe('inspect jsonrpc');
    expect(guardClass('/xmlrpc/2/db').cls).toBe('deny xmlrpc');
    expect(guardClass('/web/database/list').cls).toBe('deny http');
  });

  it('refuses the spellings of issue 15 that the fake Odoo dispatched to an RPC route', () => {
    expect(MODELS['fake Odoo']?.('/x\\..\\jsonrpc')).toBe('inspect jsonrpc');
    expect(MODELS['fake Odoo']?.('/xmlrpc\\2\\db')).toBe('deny xmlrpc');
    expect(guardClass('/x\\..\\jsonrpc').cls).toBe('400');
    expect(guardClass('/xmlrpc\\2\\db').cls).toBe('400');
  });

  it('sends the canonical path upstream and keeps the query as received', () => {
    expect(guardClass('/web/static/..\\login?redirect=%2Fweb%3F#').cls).toBe('400');
    expect(guardClass('/web/static/..\\login?redirect=%2Fweb%3F').upstreamTarget).toBe('/web/login?redirect=%2Fweb%3F');
    expect(guardClass('/web//login/?a=/../b').upstreamTarget).toBe('/web/login/?a=/../b');
    expect(guardClass('/shop/caf%c3%a9').upstreamTarget).toBe('/shop/caf%C3%A9');
    expect(guardClass('/Web/Login;x').upstreamTarget).toBe('/Web/Login;x');
    expect(guardClass('/web/content/100%25.pdf').upstreamTarget).toBe('/web/content/100%25.pdf');
  });
});
