import { describe, expect, it } from 'vitest';
import { guardRpc, parseXmlRpcCall, routeRequestTarget, rpcRefusal } from '../../src/gateway/index.js';

const DB = 't_acme';
const OTHER = 't_beta';

function guard(url: string, body: string | Uint8Array) {
  return guardRpc({ url, body: typeof body === 'string' ? Buffer.from(body) : body, databaseName: DB });
}
const allowed = (url: string, body: string | Uint8Array) => guard(url, body).allow;

function jsonCall(service: string, method: string, args: unknown, id: unknown = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params: { service, method, args } });
}

function xmlCall(method: string, firstParam: string, extraParams = ''): string {
  return (
    `<?xml version='1.0'?>\n<methodCall>\n<methodName>${method}</methodName>\n<params>\n` +
    `<param>\n${firstParam}\n</param>\n${extraParams}</params>\n</methodCall>\n`
  );
}
const str = (value: string) => `<value><string>${value}</string></value>`;
const intParam = (value: number) => `<param><value><int>${value}</int></value></param>\n`;

const classOf = (target: string) => {
  const routed = routeRequestTarget(target);
  return routed.ok ? routed.route : { kind: 'refused' };
};

describe('routeRequestTarget', () => {
  it('sends the canonical path upstream: decoded once, backslashes and dot segments resolved, slashes merged, query as received', () => {
    const upstream = (target: string) => {
      const routed = routeRequestTarget(target);
      return routed.ok ? routed.upstreamTarget : undefined;
    };
    expect(upstream('/jsonrpc?x=1')).toBe('/jsonrpc?x=1');
    expect(upstream('/web/./static/../login')).toBe('/web/login');
    expect(upstream('/web//login')).toBe('/web/login');
    expect(upstream('/web\\login')).toBe('/web/login');
    expect(upstream('/web/log%69n?next=%2F..%2F')).toBe('/web/login?next=%2F..%2F');
    expect(upstream('/Web/Login/')).toBe('/Web/Login/');
    expect(upstream('/web/%zz')).toBe('/web/%25zz');
    expect(upstream('/../..')).toBe('/');
  });

  it('refuses request targets that are not origin-form', () => {
    for (const target of ['http://beta.example.com/jsonrpc', '*', '', 'jsonrpc', '\\jsonrpc'])
      expect(classOf(target), target).toEqual({ kind: 'refused' });
  });

  it('leaves ordinary Odoo paths open', () => {
    for (const path of [
      '/',
      '/web',
      '/web/login',
      // The web client's call_kw is inspected (for plan limits only): gateway-limit-guard.test.ts.
      '/web/dataset/resequence',
      '/websocket',
      '/longpolling/poll',
      '/odoo',
      '/web/session/get_session_info',
      '/jsonrpcx',
      '/xmlrpcx',
      '/fr/web/login',
      '/Web/Login',
    ]) {
      expect(classOf(path), path).toEqual({ kind: 'open' });
    }
  });

  it('inspects the RPC endpoints that name a database in their body', () => {
    expect(classOf('/jsonrpc')).toEqual({ kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'service' } });
    expect(classOf('/web/session/authenticate')).toEqual({
      kind: 'inspect',
      endpoint: { protocol: 'jsonrpc', kind: 'session-authenticate' },
    });
    for (const path of ['/xmlrpc/2/common', '/xmlrpc/common']) {
      expect(classOf(path)).toEqual({ kind: 'inspect', endpoint: { protocol: 'xmlrpc', kind: 'service', service: 'common' } });
    }
    for (const path of ['/xmlrpc/2/object', '/xmlrpc/object']) {
      expect(classOf(path)).toEqual({ kind: 'inspect', endpoint: { protocol: 'xmlrpc', kind: 'service', service: 'object' } });
    }
  });

  it('refuses the database manager, the XML-RPC db service and unknown XML-RPC services by path', () => {
    for (const path of [
      '/web/database/manager',
      '/web/database/list',
      '/web/database/create',
      '/web/database/backup',
      '/web/database/selector',
    ]) {
      expect(classOf(path), path).toMatchObject({ kind: 'deny', protocol: 'http' });
    }
    for (const path of ['/xmlrpc/2/db', '/xmlrpc/db', '/xmlrpc/2/report', '/xmlrpc/2']) {
      expect(classOf(path), path).toMatchObject({ kind: 'deny', protocol: 'xmlrpc' });
    }
  });

  it('refuses (400) paths near an RPC route that are not Odoo routes', () => {
    for (const path of ['/web/database', '/web/database/foo', '/xmlrpc', '/xmlrpc/2/object/extra', '/xmlrpc/3/object', '/jsonrpc/x']) {
      expect(classOf(path), path).toEqual({ kind: 'refused' });
    }
  });

  it('refuses (400) spellings that servers read as different routes', () => {
    for (const path of [
      '/x\\..\\jsonrpc',
      '/xmlrpc\\2\\db',
      '//jsonrpc',
      '/\\jsonrpc',
      '/jsonrpc/',
      '/JSONRPC',
      '/json%72pc',
      '/web/../jsonrpc',
      '/x/%2e%2e/jsonrpc',
      '/xmlrpc%2F2%2Fobject',
      '/json%2572pc',
      '/jsonrpc;x',
      '/..;/jsonrpc',
      '/fr/jsonrpc',
      '/fr/xmlrpc/2/db',
      '/j%C5%BFonrpc',
      '/%EF%BC%8Fjsonrpc',
      '/%c0%afjsonrpc',
      '/jsonrpc#x',
      '/json rpc',
      '/jsonrpc\u0000',
    ]) {
      expect(classOf(path), path).toEqual({ kind: 'refused' });
    }
  });
});

describe('guardRpc: paths that are not RPC', () => {
  it('allows them whatever the body', () => {
    expect(allowed('/web/dataset/call_kw', jsonCall('object', 'execute_kw', [OTHER]))).toBe(true);
    expect(allowed('/web/login?db=t_beta', '')).toBe(true);
  });

  it('refuses request targets that are not paths', () => {
    expect(guard('http://beta.example.com/jsonrpc', '')).toMatchObject({ allow: false, protocol: 'http' });
  });

  it('refuses the database manager whatever the method or body', () => {
    expect(guard('/web/database/list', '{}')).toMatchObject({ allow: false, protocol: 'http' });
    expect(guard('/web/Database/Manager', '')).toMatchObject({ allow: false, protocol: 'http' });
    expect(guard('/web/%64atabase/drop', '')).toMatchObject({ allow: false });
  });
});

describe('guardRpc: /jsonrpc', () => {
  it('allows object calls that name the tenant database', () => {
    expect(allowed('/jsonrpc', jsonCall('object', 'execute_kw', [DB, 2, 'pw', 'res.partner', 'search_read', [[]], {}]))).toBe(true);
    expect(allowed('/jsonrpc', jsonCall('object', 'execute', [DB, 2, 'pw', 'res.partner', 'search', []]))).toBe(true);
    expect(allowed('/jsonrpc?debug=1', jsonCall('object', 'execute_kw', [DB, 2, 'pw', 'res.users', 'read', [[2]]]))).toBe(true);
  });

  it('allows common login/authenticate for the tenant database', () => {
    expect(allowed('/jsonrpc', jsonCall('common', 'login', [DB, 'admin', 'pw']))).toBe(true);
    expect(allowed('/jsonrpc', jsonCall('common', 'authenticate', [DB, 'admin', 'pw', {}]))).toBe(true);
    expect(allowed('/jsonrpc', jsonCall('common', 'timezone_get', [DB, 'admin', 'pw']))).toBe(true);
  });

  it('allows the common methods that touch no database', () => {
    expect(allowed('/jsonrpc', jsonCall('common', 'version', []))).toBe(true);
    expect(allowed('/jsonrpc', jsonCall('common', 'about', [true]))).toBe(true);
    expect(allowed('/jsonrpc', JSON.stringify({ params: { service: 'common', method: 'version' } }))).toBe(true);
  });

  it('refuses object and common calls naming another database, with the id echoed', () => {
    for (const [service, method] of [
      ['object', 'execute_kw'],
      ['object', 'execute'],
      ['common', 'login'],
      ['common', 'authenticate'],
    ] as const) {
      const verdict = guard('/jsonrpc', jsonCall(service, method, [OTHER, 'admin', 'pw'], 42));
      expect(verdict, `${service}.${method}`).toMatchObject({ allow: false, protocol: 'jsonrpc', requestId: 42 });
      if (!verdict.allow) expect(verdict.reason).toContain(OTHER);
    }
  });

  it('refuses calls without a database name or with a non-string one', () => {
    for (const args of [[], [null], [1], [[DB]], [{ db: DB }], [`${DB} `], [DB.toUpperCase()]]) {
      expect(allowed('/jsonrpc', jsonCall('object', 'execute_kw', args)), JSON.stringify(args)).toBe(false);
    }
    expect(allowed('/jsonrpc', JSON.stringify({ params: { service: 'object', method: 'execute_kw' } }))).toBe(false);
  });

  it('refuses args given as an object (Odoo would spread its keys into the call)', () => {
    expect(allowed('/jsonrpc', jsonCall('common', 'login', { 0: DB, t_beta: 1 }))).toBe(false);
    expect(allowed('/jsonrpc', jsonCall('object', 'execute_kw', { 0: DB }))).toBe(false);
  });

  it('always refuses the db service, even for the tenant database', () => {
    for (const method of [
      'list',
      'create_database',
      'drop',
      'dump',
      'restore',
      'duplicate_database',
      'db_exist',
      'change_admin_password',
      'server_version',
      'list_lang',
      'rename',
    ]) {
      expect(guard('/jsonrpc', jsonCall('db', method, [DB])), method).toMatchObject({ allow: false, protocol: 'jsonrpc' });
    }
  });

  it('refuses unknown services and calls without service or method', () => {
    expect(allowed('/jsonrpc', jsonCall('report', 'render_report', [DB]))).toBe(false);
    expect(allowed('/jsonrpc', JSON.stringify({ params: { method: 'login', args: [DB] } }))).toBe(false);
    expect(allowed('/jsonrpc', JSON.stringify({ params: { service: 'object', args: [DB] } }))).toBe(false);
    expect(allowed('/jsonrpc', JSON.stringify({ params: { service: ['object'], method: 'execute', args: [DB] } }))).toBe(false);
  });

  it('fails closed on bodies it cannot read', () => {
    for (const body of [
      '',
      '   ',
      'not json',
      '{"params":',
      'null',
      '42',
      '"x"',
      '{}',
      '{"params": null}',
      '{"params": [1,2]}',
      '{"params": {"service": "object", "method": "execute_kw", "args": [NaN]}}',
      `\uFEFF${jsonCall('object', 'execute_kw', [DB])}`,
    ]) {
      expect(guard('/jsonrpc', body), body).toMatchObject({ allow: false, protocol: 'jsonrpc' });
    }
    expect(guard('/jsonrpc', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ allow: false, reason: 'body is not valid UTF-8' });
  });

  it('reads escaped and duplicated keys as Odoo does (last key wins)', () => {
    expect(allowed('/jsonrpc', `{"params":{"service":"object","method":"execute_kw","args":["\\u0074_acme"]}}`)).toBe(true);
    expect(allowed('/jsonrpc', `{"params":{"service":"object","method":"execute_kw","args":["t_acme"],"args":["t_beta"]}}`)).toBe(false);
    expect(allowed('/jsonrpc', `{"params":{"service":"object","method":"execute_kw","args":["t_beta"],"args":["t_acme"]}}`)).toBe(true);
    expect(allowed('/jsonrpc', `{"params":{"service":"db","service":"object","method":"execute_kw","args":["t_acme"]}}`)).toBe(true);
    expect(allowed('/jsonrpc', `{"params":{"service":"object","service":"db","method":"list","args":["t_acme"]}}`)).toBe(false);
  });

  it('allows a batch only when every call is allowed', () => {
    const ok = JSON.parse(jsonCall('object', 'execute_kw', [DB, 2, 'pw', 'res.partner', 'search', [[]]])) as unknown;
    const version = JSON.parse(jsonCall('common', 'version', [])) as unknown;
    const bad = JSON.parse(jsonCall('object', 'execute_kw', [OTHER, 2, 'pw', 'res.partner', 'search', [[]]])) as unknown;
    const db = JSON.parse(jsonCall('db', 'list', [])) as unknown;
    expect(allowed('/jsonrpc', JSON.stringify([ok, version, ok]))).toBe(true);
    expect(guard('/jsonrpc', JSON.stringify([ok, bad]))).toMatchObject({ allow: false, requestId: null });
    expect(allowed('/jsonrpc', JSON.stringify([bad, ok]))).toBe(false);
    expect(allowed('/jsonrpc', JSON.stringify([ok, db]))).toBe(false);
    expect(allowed('/jsonrpc', JSON.stringify([ok, 'junk']))).toBe(false);
    expect(allowed('/jsonrpc', '[]')).toBe(false);
  });

  it('guards encoded and padded spellings of the path', () => {
    const bad = jsonCall('object', 'execute_kw', [OTHER]);
    for (const url of ['//jsonrpc', '/jsonrpc/', '/json%72pc', '/JsonRpc', '/web/../jsonrpc', '/jsonrpc?x=/web']) {
      expect(allowed(url, bad), url).toBe(false);
    }
  });

  it('does not trust the id it echoes', () => {
    expect(guard('/jsonrpc', JSON.stringify({ id: { x: 1 }, params: { service: 'db', method: 'list', args: [] } }))).toMatchObject({
      requestId: null,
    });
    expect(guard('/jsonrpc', JSON.stringify({ id: 'abc', params: { service: 'db', method: 'list', args: [] } }))).toMatchObject({
      requestId: 'abc',
    });
  });

  it('bounds the database name it repeats in the reason', () => {
    const verdict = guard('/jsonrpc', jsonCall('object', 'execute_kw', ['x'.repeat(10_000)]));
    expect(verdict.allow).toBe(false);
    if (!verdict.allow) expect(verdict.reason.length).toBeLessThan(200);
  });
});

describe('guardRpc: /web/session/authenticate', () => {
  const auth = (params: unknown) => JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 7, params });

  it('allows the tenant database', () => {
    expect(allowed('/web/session/authenticate', auth({ db: DB, login: 'admin', password: 'pw' }))).toBe(true);
  });

  it('refuses another, a missing or a non-string database', () => {
    expect(guard('/web/session/authenticate', auth({ db: OTHER, login: 'admin', password: 'pw' }))).toMatchObject({
      allow: false,
      protocol: 'jsonrpc',
      requestId: 7,
    });
    expect(allowed('/web/session/authenticate', auth({ login: 'admin', password: 'pw' }))).toBe(false);
    expect(allowed('/web/session/authenticate', auth({ db: [DB], login: 'admin' }))).toBe(false);
    expect(allowed('/web/session/authenticate', auth(null))).toBe(false);
    expect(allowed('/web/session/authenticate', 'db=t_acme&login=admin')).toBe(false);
    expect(allowed('/web/session/authenticate', '')).toBe(false);
  });

  it('checks every call of a batch', () => {
    const ok = { params: { db: DB, login: 'a', password: 'b' } };
    expect(allowed('/web/session/authenticate', JSON.stringify([ok, ok]))).toBe(true);
    expect(allowed('/web/session/authenticate', JSON.stringify([ok, { params: { db: OTHER } }]))).toBe(false);
  });
});

describe('guardRpc: XML-RPC', () => {
  it('allows object and common calls whose first param is the tenant database', () => {
    const body = xmlCall('execute_kw', str(DB), `${intParam(2)}<param><value><string>pw</string></value></param>\n`);
    for (const url of ['/xmlrpc/2/object', '/xmlrpc/object', '/xmlrpc/2/object?x']) expect(allowed(url, body), url).toBe(true);
    for (const url of ['/xmlrpc/2/common', '/xmlrpc/common']) expect(allowed(url, xmlCall('authenticate', str(DB))), url).toBe(true);
  });

  it('reads an untyped value as a string, as the XML-RPC spec says', () => {
    expect(allowed('/xmlrpc/2/common', xmlCall('login', `<value>${DB}</value>`))).toBe(true);
    expect(allowed('/xmlrpc/2/common', xmlCall('login', `<value>${OTHER}</value>`))).toBe(false);
  });

  it('decodes entities, character references and CDATA like expat', () => {
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('t&#95;acme')))).toBe(true);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('t&#x5f;acme')))).toBe(true);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('<![CDATA[t_acme]]>')))).toBe(true);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('t_<!-- a comment -->acme')))).toBe(true);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('t&#95;beta')))).toBe(false);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str('t_acme&amp;')))).toBe(false);
  });

  it('accepts common client variations: no declaration, BOM, whitespace, self-closing nil, arrays and structs', () => {
    const compact = `<methodCall><methodName>execute_kw</methodName><params><param><value><string>${DB}</string></value></param></params></methodCall>`;
    expect(allowed('/xmlrpc/2/object', compact)).toBe(true);
    expect(allowed('/xmlrpc/2/object', `\uFEFF<?xml version="1.0" encoding="UTF-8"?>${compact}`)).toBe(true);
    expect(allowed('/xmlrpc/2/object', `<?xml version="1.0"?>\r\n<!-- client -->\r\n${compact}\r\n`)).toBe(true);
    const rich = xmlCall(
      'execute_kw',
      str(DB),
      intParam(2) +
        '<param><value><array><data><value><array><data><value><string>a</string></value></data></array></value></data></array></value></param>\n' +
        '<param><value><struct><member><name>fields</name><value><array><data/></array></value></member>' +
        '<member><name>limit</name><value><i4>5</i4></value></member><member><name>x</name><value><nil/></value></member></struct></value></param>\n' +
        '<param><value><boolean>1</boolean></value></param><param><value><double>1.5</double></value></param>' +
        '<param><value><dateTime.iso8601>20240101T00:00:00</dateTime.iso8601></value></param><param><value><base64>YQ==</base64></value></param>\n',
    );
    expect(allowed('/xmlrpc/2/object', rich)).toBe(true);
    expect(parseXmlRpcCall(rich)?.params).toHaveLength(8);
  });

  it('allows common.version and common.about without a database, but nothing else', () => {
    const noParams = '<?xml version="1.0"?><methodCall><methodName>version</methodName><params></params></methodCall>';
    expect(allowed('/xmlrpc/2/common', noParams)).toBe(true);
    expect(allowed('/xmlrpc/2/common', '<methodCall><methodName>version</methodName></methodCall>')).toBe(true);
    expect(allowed('/xmlrpc/2/common', '<methodCall><methodName>about</methodName></methodCall>')).toBe(true);
    expect(allowed('/xmlrpc/2/object', '<methodCall><methodName>version</methodName></methodCall>')).toBe(false);
    expect(allowed('/xmlrpc/2/common', '<methodCall><methodName>login</methodName></methodCall>')).toBe(false);
  });

  it('refuses a first param naming another database or not being a string', () => {
    expect(guard('/xmlrpc/2/object', xmlCall('execute_kw', str(OTHER)))).toMatchObject({ allow: false, protocol: 'xmlrpc' });
    expect(allowed('/xmlrpc/2/common', xmlCall('authenticate', str(OTHER)))).toBe(false);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', '<value><int>1</int></value>'))).toBe(false);
    expect(
      allowed(
        '/xmlrpc/2/object',
        xmlCall('execute_kw', '<value><array><data><value><string>t_acme</string></value></data></array></value>'),
      ),
    ).toBe(false);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str(` ${DB}`)))).toBe(false);
  });

  it('refuses everything on the XML-RPC db service, even well-formed calls for the tenant database', () => {
    for (const url of ['/xmlrpc/2/db', '/xmlrpc/db', '/xmlrpc/2/DB']) {
      expect(guard(url, xmlCall('list', str(DB))), url).toMatchObject({ allow: false, protocol: 'xmlrpc' });
    }
    // Spellings whose route depends on the server are refused before the service is even looked at.
    for (const url of ['/xmlrpc//2/db', '/xmlrpc\\2\\db']) {
      expect(guard(url, xmlCall('list', str(DB))), url).toMatchObject({ allow: false, protocol: 'http' });
    }
  });

  it("refuses documents Python's lenient unmarshaller would read differently", () => {
    const cases: Record<string, string> = {
      'a value before params (Python stacks it first)': `<methodCall><methodName>execute_kw</methodName><value><string>${OTHER}</string></value><params><param>${str(DB)}</param></params></methodCall>`,
      'a value inside methodCall after params': `<methodCall><methodName>x</methodName><params><param>${str(DB)}</param></params><value>y</value></methodCall>`,
      'a second methodName after params': `<methodCall><methodName>version</methodName><params><param>${str(OTHER)}</param></params><methodName>login</methodName></methodCall>`,
      'a name element before params': `<methodCall><methodName>execute_kw</methodName><name>${OTHER}</name><params><param>${str(DB)}</param></params></methodCall>`,
      'params before methodName': `<methodCall><params><param>${str(DB)}</param></params><methodName>execute_kw</methodName></methodCall>`,
      'two values in the first param': `<methodCall><methodName>execute_kw</methodName><params><param>${str(OTHER)}${str(DB)}</param></params></methodCall>`,
      'two typed elements in a value': `<methodCall><methodName>execute_kw</methodName><params><param><value><string>${OTHER}</string><string>${DB}</string></value></param></params></methodCall>`,
      'text next to a typed element': `<methodCall><methodName>execute_kw</methodName><params><param><value>${OTHER}<string>${DB}</string></value></param></params></methodCall>`,
      'namespaced tags (Python strips the prefix)': `<methodCall><methodName>execute_kw</methodName><params><param><value><ex:string xmlns:ex="x">${DB}</ex:string></value></param></params></methodCall>`,
      attributes: `<methodCall><methodName>execute_kw</methodName><params><param><value><string a="1">${DB}</string></value></param></params></methodCall>`,
      'a DOCTYPE with an entity': `<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY db "${DB}">]><methodCall><methodName>execute_kw</methodName><params><param>${str('&db;')}</param></params></methodCall>`,
      'an unknown entity': xmlCall('execute_kw', str('&db;')),
      'a processing instruction': `<?xml version="1.0"?><?php x?><methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall>`,
      'a UTF-16 declaration': `<?xml version="1.0" encoding="UTF-16"?><methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall>`,
      'an EBCDIC declaration': `<?xml version="1.0" encoding="cp037"?><methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall>`,
      'a declaration after whitespace': ` <?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall>`,
      'an unknown value type': xmlCall('execute_kw', `<value><foo>${DB}</foo></value>`),
      'another root element': `<methodResponse><params><param>${str(DB)}</param></params></methodResponse>`,
      'unclosed tags': `<methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}`,
      'mismatched tags': `<methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</params></param></methodCall>`,
      'content after the root': `<methodCall><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall><x/>`,
      'a control character': xmlCall('execute_kw', str('t_acme\u0001')),
      'a character reference to NUL': xmlCall('execute_kw', str('t_acme&#0;')),
      'a comment containing --': `<methodCall><!-- a -- b --><methodName>execute_kw</methodName><params><param>${str(DB)}</param></params></methodCall>`,
      'a param without value': `<methodCall><methodName>execute_kw</methodName><params><param>${DB}</param></params></methodCall>`,
      'empty body': '',
      JSON: jsonCall('object', 'execute_kw', [DB]),
    };
    for (const [name, body] of Object.entries(cases)) {
      expect(guard('/xmlrpc/2/object', body), name).toMatchObject({ allow: false, protocol: 'xmlrpc' });
    }
  });

  it('survives hostile nesting without exhausting the stack', () => {
    const deep = '<value><array><data>'.repeat(5000);
    expect(allowed('/xmlrpc/2/object', xmlCall('execute_kw', str(DB), `<param>${deep}</param>`))).toBe(false);
  });

  it('normalises line endings in text as expat does', () => {
    expect(parseXmlRpcCall(xmlCall('execute_kw', str('a\r\nb\rc')))?.params[0]).toEqual({ type: 'string', value: 'a\nb\nc' });
  });
});

describe('rpcRefusal', () => {
  it('answers JSON-RPC clients with an Odoo-shaped error and HTTP 403', () => {
    const refusal = rpcRefusal('jsonrpc', 'forbidden', 9);
    expect(refusal.status).toBe(403);
    expect(refusal.headers['content-type']).toBe('application/json');
    const body = JSON.parse(refusal.body) as { id: unknown; error: { code: number; message: string; data: { name: string } } };
    expect(body).toMatchObject({ id: 9, error: { code: 403, message: 'Access Denied', data: { name: 'odoo.exceptions.AccessDenied' } } });
    expect(refusal.headers['content-length']).toBe(String(Buffer.byteLength(refusal.body)));
  });

  it('answers XML-RPC clients with a fault and HTTP 403 that parses back', () => {
    const refusal = rpcRefusal('xmlrpc', 'forbidden');
    expect(refusal.status).toBe(403);
    expect(refusal.body).toContain('<fault>');
    expect(refusal.body).toContain('<int>3</int>');
  });

  it('uses 413 for bodies over the limit and an HTML page for plain HTTP', () => {
    expect(rpcRefusal('jsonrpc', 'too_large').status).toBe(413);
    expect(rpcRefusal('xmlrpc', 'too_large').status).toBe(413);
    const page = rpcRefusal('http', 'forbidden');
    expect(page.status).toBe(403);
    expect(page.headers['content-type']).toContain('text/html');
  });
});
