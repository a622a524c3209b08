/**
 * The plan limits the gateway enforces for a tenant, where the tenant's own admin cannot switch
 * them off (peers put them in an Odoo module the admin can uninstall). Pure.
 *
 * - At the user limit (`blockNewUsers`): calls on `res.users` that create internal users or make
 *   users internal or active again are refused: `create`, `copy`, `name_create`, `load`,
 *   `web_create_users`, `web_save` without ids, `action_unarchive`, `toggle_active`, and `write` /
 *   `web_save` whose values name `active`, `share` or groups (`groups_id`, `group_ids`, Odoo's
 *   generated `sel_groups_*` / `in_group_*` fields). Over XML-RPC the values are not read, so
 *   every `write` on `res.users` is refused there.
 * - Read-only (`readOnly`, the storage policy): every model method that is not a read is refused.
 *
 * Calls are read from `/jsonrpc` (`object.execute_kw` / `execute`), `/xmlrpc[/2]/object` and the
 * web client's `/web/dataset/call_kw[/*]` and `/web/dataset/call_button`. What runs inside Odoo
 * (imports, server actions, crons) is not seen here; the sampler's deactivation is the backstop.
 */
import type { RpcEndpoint } from './rpc-paths.js';
import { parseXmlRpcCall } from './xmlrpc-call.js';

export interface TenantRestrictions {
  /** Set at the user limit: the limit, for the message. */
  userLimit?: number;
  readOnly?: boolean;
}

export type LimitVerdict =
  | { allow: true }
  | { allow: false; protocol: 'jsonrpc' | 'xmlrpc'; message: string; reason: string; requestId: string | number | null };

interface ModelCall {
  model: unknown;
  method: unknown;
  /** Positional arguments, when readable. */
  args: unknown[] | undefined;
  kwargs: Record<string, unknown> | undefined;
}

const CREATING_METHODS = new Set(['create', 'copy', 'name_create', 'load', 'web_create_users', 'action_unarchive', 'toggle_active']);
const WRITING_METHODS = new Set(['write', 'web_save']);
const GROUP_FIELD = /^(groups_id|group_ids|sel_groups_.*|in_group_.*|active|share)$/;

/** Methods that only read (the web client's and external clients' usual reads). */
const READ_METHODS = new Set([
  'read',
  'search',
  'search_read',
  'search_count',
  'read_group',
  'web_read',
  'web_search_read',
  'web_read_group',
  'name_search',
  'name_get',
  'fields_get',
  'default_get',
  'get_views',
  'load_views',
  'fields_view_get',
  'onchange',
  'check_access_rights',
  'check_access_rule',
  'has_group',
  'read_progress_bar',
  'get_formview_id',
  'get_formview_action',
  'context_get',
  'exists',
  'search_panel_select_range',
  'search_panel_select_multi_range',
  'web_search_read_unity',
  'read_subscription_data',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The values of a write/web_save (`write(ids, vals)`, `web_save(ids, vals, spec)`), when readable. */
function valuesOf(call: ModelCall): Record<string, unknown> | undefined {
  const fromKwargs = call.kwargs?.vals;
  if (isRecord(fromKwargs)) return fromKwargs;
  const positional = call.args?.[1];
  return isRecord(positional) ? positional : undefined;
}

function idsOf(call: ModelCall): unknown {
  return call.kwargs && 'ids' in call.kwargs ? call.kwargs.ids : call.args?.[0];
}

/** Why a call would add an internal user, or undefined. */
function addsInternalUser(call: ModelCall): string | undefined {
  if (call.model !== 'res.users' || typeof call.method !== 'string') return undefined;
  if (CREATING_METHODS.has(call.method)) return `res.users.${call.method}`;
  if (!WRITING_METHODS.has(call.method)) return undefined;
  if (call.method === 'web_save') {
    const ids = idsOf(call);
    if (!Array.isArray(ids) || ids.length === 0) return 'res.users.web_save creating a user';
  }
  const values = valuesOf(call);
  // Unreadable values (XML-RPC, odd shapes) are refused: the guard fails closed.
  if (!values) return `res.users.${call.method} with values the gateway cannot read`;
  const field = Object.keys(values).find((key) => GROUP_FIELD.test(key));
  return field ? `res.users.${call.method} of ${field}` : undefined;
}

function refusal(call: ModelCall, restrictions: TenantRestrictions): { reason: string; message: string } | undefined {
  if (restrictions.readOnly && !(typeof call.method === 'string' && READ_METHODS.has(call.method))) {
    return {
      reason: `read-only: ${String(call.model)}.${String(call.method)}`,
      message:
        'This database is read-only: it uses all the storage its plan allows. Delete attachments or records you no longer need from a copy, or ask the account owner to upgrade the plan.',
    };
  }
  if (restrictions.userLimit !== undefined) {
    const reason = addsInternalUser(call);
    if (reason) {
      return {
        reason: `user limit: ${reason}`,
        message: `This database has reached its plan's limit of ${restrictions.userLimit} internal users. Archive a user first, or ask the account owner to upgrade the plan.`,
      };
    }
  }
  return undefined;
}

function arrayOrUndefined(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function jsonCalls(parsed: unknown, endpoint: RpcEndpoint): ModelCall[] {
  const calls = Array.isArray(parsed) ? parsed : [parsed];
  const out: ModelCall[] = [];
  for (const call of calls) {
    if (!isRecord(call) || !isRecord(call.params)) continue;
    const params = call.params;
    if (endpoint.kind === 'call-kw') {
      out.push({
        model: params.model,
        method: params.method,
        args: arrayOrUndefined(params.args),
        kwargs: isRecord(params.kwargs) ? params.kwargs : undefined,
      });
      continue;
    }
    if (params.service !== 'object') continue;
    const args = arrayOrUndefined(params.args) ?? [];
    if (params.method === 'execute_kw') {
      const kwargs = args[6];
      out.push({ model: args[3], method: args[4], args: arrayOrUndefined(args[5]), kwargs: isRecord(kwargs) ? kwargs : undefined });
    } else {
      // `execute(db, uid, password, model, method, *args)` and anything unknown: read as positional.
      out.push({ model: args[3], method: args[4], args: args.slice(5), kwargs: undefined });
    }
  }
  return out;
}

function requestIdOf(parsed: unknown): string | number | null {
  if (!isRecord(parsed)) return null;
  return typeof parsed.id === 'string' || typeof parsed.id === 'number' ? parsed.id : null;
}

/**
 * Checks a buffered RPC body the database guard already allowed against the tenant's
 * restrictions. A body that does not parse here was refused by that guard already, except on
 * the web client's paths (no database check), where Odoo itself refuses it.
 */
export function checkLimits(endpoint: RpcEndpoint, text: string, restrictions: TenantRestrictions): LimitVerdict {
  if (endpoint.kind === 'session-authenticate') return { allow: true };
  if (endpoint.protocol === 'xmlrpc') {
    if (endpoint.service !== 'object') return { allow: true };
    const call = parseXmlRpcCall(text);
    if (!call) return { allow: true };
    const at = (i: number) => {
      const value = call.params[i];
      return value?.type === 'string' ? value.value : undefined;
    };
    // XML-RPC values past the method are not read: `args` unknown, so writes on res.users fail closed.
    const found = refusal({ model: at(3), method: at(4), args: undefined, kwargs: undefined }, restrictions);
    return found ? { allow: false, protocol: 'xmlrpc', requestId: null, ...found } : { allow: true };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { allow: true };
  }
  for (const call of jsonCalls(parsed, endpoint)) {
    const found = refusal(call, restrictions);
    if (found) return { allow: false, protocol: 'jsonrpc', requestId: Array.isArray(parsed) ? null : requestIdOf(parsed), ...found };
  }
  return { allow: true };
}
