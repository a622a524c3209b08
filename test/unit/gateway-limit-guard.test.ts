import { describe, expect, it } from 'vitest';
import { checkLimits, limitRefusal, type RpcEndpoint, routeRequestTarget } from '../../src/gateway/index.js';
import { xmlRpcMethodCall } from '../helpers/gateway-client.js';

const CALL_KW: RpcEndpoint = { protocol: 'jsonrpc', kind: 'call-kw' };
const JSONRPC: RpcEndpoint = { protocol: 'jsonrpc', kind: 'service' };
const XMLRPC: RpcEndpoint = { protocol: 'xmlrpc', kind: 'service', service: 'object' };
const AT_LIMIT = { userLimit: 3 };

const callKw = (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 7, params: { model, method, args, kwargs } });
const executeKw = (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) =>
  JSON.stringify({
    jsonrpc: '2.0',
    method: 'call',
    id: 8,
    params: { service: 'object', method: 'execute_kw', args: ['t_x', 2, 'pw', model, method, args, kwargs] },
  });
const xmlExecuteKw = (model: string, method: string) => xmlRpcMethodCall('execute_kw', ['t_x', 2, 'pw', model, method, [[]]]);

describe('the gateway reads the web client calls', () => {
  it('routes /web/dataset/call_kw[/*] and call_button to inspection, other dataset routes stay open', () => {
    for (const path of ['/web/dataset/call_kw', '/web/dataset/call_kw/res.users/create', '/web/dataset/call_button']) {
      const routed = routeRequestTarget(path);
      expect(routed.ok && routed.route, path).toEqual({ kind: 'inspect', endpoint: CALL_KW });
    }
    // Behind a language prefix it would be read one way by Odoo's http_routing and another by the
    // gateway: refused (400), like /fr/jsonrpc.
    expect(routeRequestTarget('/fr/web/dataset/call_kw/x')).toMatchObject({ ok: false });
    const open = routeRequestTarget('/web/dataset/resequence');
    expect(open.ok && open.route).toEqual({ kind: 'open' });
  });
});

describe('user limit', () => {
  const refused = [
    ['create', [{ name: 'New', login: 'new' }], {}],
    ['copy', [5], {}],
    ['name_create', ['New'], {}],
    ['load', [['login'], [['a']]], {}],
    ['web_create_users', [['a@example.com']], {}],
    ['action_unarchive', [[5]], {}],
    ['toggle_active', [[5]], {}],
    ['write', [[5], { active: true }], {}],
    ['write', [[5], { groups_id: [[4, 1]] }], {}],
    ['write', [[5], { group_ids: [[4, 1]] }], {}],
    ['write', [[5], { sel_groups_1_10_11: 1 }], {}],
    ['write', [[5], { in_group_12: true }], {}],
    ['write', [], { ids: [5], vals: { share: false } }],
    ['web_save', [[], { name: 'x' }], { specification: {} }],
    ['web_save', [[5], { groups_id: [[6, 0, [1]]] }], { specification: {} }],
    ['write', [[5], 'not values'], {}],
  ] as const;
  const allowed = [
    ['write', [[5], { lang: 'fr_FR', signature: '<p>x</p>' }], {}],
    ['web_save', [[5], { tz: 'Europe/Paris' }], { specification: {} }],
    ['read', [[5], ['name']], {}],
    ['search_read', [[]], {}],
    ['action_archive', [[5]], {}],
  ] as const;

  it('refuses every call that creates or activates internal users, on call_kw and /jsonrpc', () => {
    for (const [method, args, kwargs] of refused) {
      for (const [endpoint, body] of [
        [CALL_KW, callKw('res.users', method, [...args], kwargs)],
        [JSONRPC, executeKw('res.users', method, [...args], kwargs)],
      ] as const) {
        const verdict = checkLimits(endpoint, body, AT_LIMIT);
        expect(verdict.allow, `${endpoint.kind} ${method} ${JSON.stringify(args)}`).toBe(false);
        if (!verdict.allow) expect(verdict.message).toContain('limit of 3 internal users');
      }
    }
  });

  it('lets other calls on res.users and every call on other models through', () => {
    for (const [method, args, kwargs] of allowed) {
      expect(checkLimits(CALL_KW, callKw('res.users', method, [...args], kwargs), AT_LIMIT), method).toEqual({ allow: true });
      expect(checkLimits(JSONRPC, executeKw('res.users', method, [...args], kwargs), AT_LIMIT), method).toEqual({ allow: true });
    }
    expect(checkLimits(CALL_KW, callKw('res.partner', 'create', [{ name: 'x' }]), AT_LIMIT)).toEqual({ allow: true });
    // Not at the limit: nothing is refused.
    expect(checkLimits(CALL_KW, callKw('res.users', 'create', [{ name: 'x' }]), {})).toEqual({ allow: true });
  });

  it('reads a JSON-RPC batch call by call and the legacy execute', () => {
    const batch = `[${executeKw('res.partner', 'read', [[1]])},${executeKw('res.users', 'create', [{ login: 'x' }])}]`;
    const verdict = checkLimits(JSONRPC, batch, AT_LIMIT);
    expect(verdict.allow).toBe(false);
    if (!verdict.allow) expect(verdict.requestId).toBeNull();
    const execute = JSON.stringify({
      params: { service: 'object', method: 'execute', args: ['t_x', 2, 'pw', 'res.users', 'create', { login: 'x' }] },
    });
    expect(checkLimits(JSONRPC, execute, AT_LIMIT).allow).toBe(false);
  });

  it('over XML-RPC refuses creating and every write on res.users (values unread), not reads', () => {
    for (const method of ['create', 'write', 'toggle_active', 'action_unarchive']) {
      expect(checkLimits(XMLRPC, xmlExecuteKw('res.users', method), AT_LIMIT).allow, method).toBe(false);
    }
    expect(checkLimits(XMLRPC, xmlExecuteKw('res.users', 'search_read'), AT_LIMIT)).toEqual({ allow: true });
    expect(checkLimits(XMLRPC, xmlExecuteKw('res.partner', 'create'), AT_LIMIT)).toEqual({ allow: true });
  });
});

describe('read-only', () => {
  it('lets reads through and refuses every other method on every path', () => {
    for (const method of ['read', 'search_read', 'web_search_read', 'fields_get', 'onchange', 'name_search']) {
      expect(checkLimits(CALL_KW, callKw('res.partner', method, []), { readOnly: true }), method).toEqual({ allow: true });
      expect(checkLimits(XMLRPC, xmlExecuteKw('res.partner', method), { readOnly: true }), method).toEqual({ allow: true });
    }
    for (const method of ['create', 'write', 'unlink', 'copy', 'web_save', 'action_confirm', 'message_post']) {
      for (const [endpoint, body] of [
        [CALL_KW, callKw('sale.order', method, [[1]])],
        [JSONRPC, executeKw('sale.order', method, [[1]])],
        [XMLRPC, xmlExecuteKw('sale.order', method)],
      ] as const) {
        const verdict = checkLimits(endpoint, body, { readOnly: true });
        expect(verdict.allow, `${endpoint.protocol} ${method}`).toBe(false);
        if (!verdict.allow) expect(verdict.message).toContain('read-only');
      }
    }
  });
});

describe('refusals read as Odoo errors', () => {
  it('JSON-RPC: a UserError with the message and the call id; XML-RPC: fault 2', () => {
    const json = limitRefusal('jsonrpc', 'This database has reached its limit.', 7);
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({
      id: 7,
      error: { message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError', message: 'This database has reached its limit.' } },
    });
    const xml = limitRefusal('xmlrpc', 'A <limit> & more');
    expect(xml.body).toContain('<int>2</int>');
    expect(xml.body).toContain('A &lt;limit&gt; &amp; more');
  });
});
