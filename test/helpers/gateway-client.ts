import { request } from 'node:http';

export interface GatewayResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

/**
 * An HTTP request to the platform's port with an explicit Host header, as a browser visiting
 * `acme.lvh.me` would send (fetch does not let tests choose the Host header).
 */
export function hostRequest(
  port: number,
  host: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<GatewayResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          host,
          ...(payload
            ? { 'content-type': typeof body === 'string' ? 'text/xml' : 'application/json', 'content-length': String(payload.length) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Logs in through the gateway like Odoo's web client; returns the JSON-RPC answer. */
export async function odooLogin(port: number, host: string, database: string, login: string, password: string) {
  const response = await hostRequest(port, host, 'POST', '/web/session/authenticate', {
    jsonrpc: '2.0',
    method: 'call',
    id: 1,
    params: { db: database, login, password },
  });
  if (response.text && !response.text.trimStart().startsWith('{')) {
    throw new Error(`login through the gateway answered HTTP ${response.status}, not JSON: ${response.text.slice(0, 300)}`);
  }
  return {
    status: response.status,
    headers: response.headers,
    body: response.text ? (JSON.parse(response.text) as { result?: { uid?: number }; error?: { data?: { name?: string } } }) : {},
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function xmlRpcValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value)) return `<value><int>${value}</int></value>`;
  if (typeof value === 'string') return `<value><string>${value.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</string></value>`;
  if (Array.isArray(value)) return `<value><array><data>${value.map(xmlRpcValue).join('')}</data></array></value>`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(([name, member]) => `<member><name>${name}</name>${xmlRpcValue(member)}</member>`);
    return `<value><struct>${members.join('')}</struct></value>`;
  }
  throw new TypeError(`no XML-RPC encoding for ${JSON.stringify(value)}`);
}

/** An XML-RPC request body (integers, strings, arrays and structs: what Odoo's services take). */
export function xmlRpcMethodCall(method: string, params: readonly unknown[]): string {
  const encoded = params.map((param) => `<param>${xmlRpcValue(param)}</param>`).join('');
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${encoded}</params></methodCall>`;
}

/** The integer faultCode of an XML-RPC fault response, undefined when the call succeeded. */
export function xmlRpcFaultCode(response: string): number | undefined {
  if (!/<fault>/.test(response)) return undefined;
  const code = /<name>faultCode<\/name>\s*<value>\s*<int>(-?\d+)<\/int>/.exec(response);
  return code ? Number(code[1]) : Number.NaN;
}
