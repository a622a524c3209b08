/**
 * Header rewriting between the visitor and Odoo. Pure: works on Node's flat `rawHeaders` arrays
 * (`[name, value, name, value, ...]`), which keep repeated headers and their order intact.
 */

/** RFC 9110 §7.6.1 connection-specific headers, plus the non-standard ones proxies still see. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers the gateway sets itself, so a client's copies are dropped first. */
const GATEWAY_SET = new Set(['host', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']);

/** Names listed in `Connection:` are hop-by-hop for this message only. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] ?? '').split(',')) {
      const name = token.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

function valuesOf(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] ?? '');
  }
  return values;
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) is written as `1.2.3.4`, as proxies usually do. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

export interface ForwardingInfo {
  /** The peer address of the incoming socket. */
  remoteAddress: string;
  /** The normalised tenant host (`acme.example.com[:port]`), sent as Host and X-Forwarded-Host. */
  host: string;
  /** Trust X-Forwarded-For/-Proto from the peer (the gateway sits behind a TLS edge). */
  trustProxy: boolean;
  /** Keep `Connection: upgrade` + `Upgrade: websocket` (websocket handshakes only). */
  websocket: boolean;
  /** The body will be sent with this exact length (buffered RPC bodies). */
  contentLength?: number;
}

/**
 * The headers sent to Odoo. Host stays the tenant host because Odoo's `dbfilter` (`%d`, `%h`)
 * reads it, and it is lower-cased because that regex match is case-sensitive. Odoo runs with
 * `proxy_mode`, whose ProxyFix takes the last X-Forwarded-For entry (the one added here) and
 * X-Forwarded-Host / -Proto as set here.
 */
export function forwardRequestHeaders(raw: readonly string[], info: ForwardingInfo): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = ['Host', info.host];
  let hadChunkedBody = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') hadChunkedBody = true;
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || GATEWAY_SET.has(lower)) continue;
    // CGI/WSGI servers map `-` and `_` to the same variable, so `X_Forwarded_Host` could be read
    // as the X-Forwarded-Host set here: no legitimate header needs an underscore (nginx drops them too).
    if (name.includes('_')) continue;
    // The gateway's own server already answered `Expect: 100-continue`.
    if (lower === 'expect' || lower === 'x-forwarded-for') continue;
    if (lower === 'content-length' && (info.contentLength !== undefined || info.websocket)) continue;
    out.push(name, value);
  }

  const peer = clientAddress(info.remoteAddress);
  const priorFor = valuesOf(raw, 'x-forwarded-for')
    .flatMap((value) => value.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const lastProto = valuesOf(raw, 'x-forwarded-proto')
    .flatMap((value) => value.split(','))
    .at(-1)
    ?.trim()
    .toLowerCase();
  const proto = info.trustProxy && (lastProto === 'http' || lastProto === 'https') ? lastProto : 'http';
  // Behind a trusted edge the visitor is the edge's last X-Forwarded-For entry, else the peer.
  const realIp = info.trustProxy && priorFor.length > 0 ? (priorFor.at(-1) ?? peer) : peer;
  out.push('X-Forwarded-For', [...priorFor, peer].join(', '));
  out.push('X-Forwarded-Host', info.host, 'X-Forwarded-Proto', proto, 'X-Real-IP', realIp);

  if (info.websocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  else if (info.contentLength !== undefined) out.push('Content-Length', String(info.contentLength));
  // Node only frames a body it was told about: re-declare chunking for bodies without a length
  // (GET/DELETE with a body are not chunked by default).
  else if (hadChunkedBody) out.push('Transfer-Encoding', 'chunked');
  return out;
}

/** Odoo's response headers without the hop-by-hop ones; Node re-frames the body itself. */
export function forwardResponseHeaders(raw: readonly string[]): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out.push(name, raw[i + 1] ?? '');
  }
  return out;
}

/** Whether a request asks for a websocket (the only upgrade Odoo speaks). */
export function isWebsocketUpgrade(method: string | undefined, raw: readonly string[]): boolean {
  if (method !== 'GET') return false;
  const upgrade = valuesOf(raw, 'upgrade').join(',').toLowerCase();
  return upgrade.split(',').some((token) => token.trim() === 'websocket');
}

/** A complete HTTP/1.1 response as text, for sockets the HTTP server has handed over (upgrades). */
export function formatRawResponse(status: number, reason: string, headers: Record<string, string>, body: string): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection') lines.push(`${name}: ${value}`);
  }
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
