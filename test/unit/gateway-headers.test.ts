import { describe, expect, it } from 'vitest';
import { clientAddress, forwardRequestHeaders, forwardResponseHeaders, isWebsocketUpgrade } from '../../src/gateway/index.js';

/** Flat raw headers -> lower-cased name -> values. */
function asMap(raw: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    map.set(name, [...(map.get(name) ?? []), raw[i + 1] ?? '']);
  }
  return map;
}

const base = { remoteAddress: '203.0.113.7', host: 'acme.example.com:8080', trustProxy: false, websocket: false };

describe('forwardRequestHeaders', () => {
  it('sets Host and the X-Forwarded-* headers, keeping end-to-end headers and their repeats', () => {
    const raw = ['Host', 'ACME.example.com:8080', 'Cookie', 'a=1', 'Cookie', 'b=2', 'Accept', 'text/html', 'Content-Length', '12'];
    const out = asMap(forwardRequestHeaders(raw, base));
    expect(out.get('host')).toEqual(['acme.example.com:8080']);
    expect(out.get('x-forwarded-host')).toEqual(['acme.example.com:8080']);
    expect(out.get('x-forwarded-proto')).toEqual(['http']);
    expect(out.get('x-forwarded-for')).toEqual(['203.0.113.7']);
    expect(out.get('x-real-ip')).toEqual(['203.0.113.7']);
    expect(out.get('cookie')).toEqual(['a=1', 'b=2']);
    expect(out.get('accept')).toEqual(['text/html']);
    expect(out.get('content-length')).toEqual(['12']);
  });

  it('strips hop-by-hop headers, those named in Connection, and Expect', () => {
    const raw = [
      'Connection',
      'keep-alive, X-Secret-Hop',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authorization',
      'Basic x',
      'TE',
      'trailers',
      'Trailer',
      'X-Checksum',
      'Upgrade',
      'h2c',
      'X-Secret-Hop',
      '1',
      'Expect',
      '100-continue',
      'X-Kept',
      'yes',
    ];
    const out = asMap(forwardRequestHeaders(raw, base));
    for (const name of [
      'connection',
      'keep-alive',
      'proxy-connection',
      'proxy-authorization',
      'te',
      'trailer',
      'upgrade',
      'x-secret-hop',
      'expect',
    ]) {
      expect(out.has(name), name).toBe(false);
    }
    expect(out.get('x-kept')).toEqual(['yes']);
  });

  it('drops headers whose names contain an underscore, which WSGI servers read as dashes', () => {
    const raw = ['X_Forwarded_Host', 'other.example.com', 'X_Real_IP', '10.0.0.1', 'Session_Id', 'x', 'X-Custom', 'kept'];
    const out = forwardRequestHeaders(raw, base);
    expect(out.filter((_, i) => i % 2 === 0 && out[i]?.includes('_'))).toEqual([]);
    expect(asMap(out).get('x-forwarded-host')).toEqual(['acme.example.com:8080']);
    expect(asMap(out).get('x-custom')).toEqual(['kept']);
  });

  it('re-declares chunking for a body without a length', () => {
    const out = asMap(forwardRequestHeaders(['Transfer-Encoding', 'chunked'], base));
    expect(out.get('transfer-encoding')).toEqual(['chunked']);
    expect(asMap(forwardRequestHeaders([], base)).has('transfer-encoding')).toBe(false);
  });

  it('sends a buffered body with its exact length', () => {
    const out = asMap(forwardRequestHeaders(['Transfer-Encoding', 'chunked', 'Content-Length', '999'], { ...base, contentLength: 42 }));
    expect(out.get('content-length')).toEqual(['42']);
    expect(out.has('transfer-encoding')).toBe(false);
  });

  it("without trustProxy: appends the peer to X-Forwarded-For and ignores the client's proto, host and real ip", () => {
    const raw = [
      'X-Forwarded-For',
      '198.51.100.1, 10.0.0.1',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'beta.example.com',
      'X-Real-IP',
      '1.1.1.1',
    ];
    const out = asMap(forwardRequestHeaders(raw, base));
    expect(out.get('x-forwarded-for')).toEqual(['198.51.100.1, 10.0.0.1, 203.0.113.7']);
    expect(out.get('x-forwarded-proto')).toEqual(['http']);
    expect(out.get('x-forwarded-host')).toEqual(['acme.example.com:8080']);
    expect(out.get('x-real-ip')).toEqual(['203.0.113.7']);
  });

  it("with trustProxy: keeps the edge's proto and takes the visitor from its last X-Forwarded-For entry", () => {
    const raw = ['X-Forwarded-For', '198.51.100.1', 'X-Forwarded-For', '192.0.2.9', 'X-Forwarded-Proto', 'https'];
    const out = asMap(forwardRequestHeaders(raw, { ...base, trustProxy: true, remoteAddress: '::ffff:127.0.0.1' }));
    expect(out.get('x-forwarded-for')).toEqual(['198.51.100.1, 192.0.2.9, 127.0.0.1']);
    expect(out.get('x-forwarded-proto')).toEqual(['https']);
    expect(out.get('x-real-ip')).toEqual(['192.0.2.9']);
    const odd = asMap(forwardRequestHeaders(['X-Forwarded-Proto', 'gopher'], { ...base, trustProxy: true }));
    expect(odd.get('x-forwarded-proto')).toEqual(['http']);
  });

  it('keeps the websocket handshake headers, and only those, for upgrades', () => {
    const raw = [
      'Connection',
      'Upgrade',
      'Upgrade',
      'websocket',
      'Sec-WebSocket-Key',
      'abc',
      'Sec-WebSocket-Version',
      '13',
      'Content-Length',
      '5',
    ];
    const out = asMap(forwardRequestHeaders(raw, { ...base, websocket: true }));
    expect(out.get('connection')).toEqual(['Upgrade']);
    expect(out.get('upgrade')).toEqual(['websocket']);
    expect(out.get('sec-websocket-key')).toEqual(['abc']);
    expect(out.has('content-length')).toBe(false);
  });
});

describe('forwardResponseHeaders', () => {
  it('strips hop-by-hop headers and keeps repeated Set-Cookie', () => {
    const raw = [
      'Connection',
      'close, X-Hop',
      'Transfer-Encoding',
      'chunked',
      'Keep-Alive',
      'x',
      'X-Hop',
      '1',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Content-Type',
      'text/html',
    ];
    expect(forwardResponseHeaders(raw)).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/html']);
  });
});

describe('isWebsocketUpgrade / clientAddress', () => {
  it('recognises GET websocket upgrades only', () => {
    expect(isWebsocketUpgrade('GET', ['Upgrade', 'websocket'])).toBe(true);
    expect(isWebsocketUpgrade('GET', ['Upgrade', 'WebSocket'])).toBe(true);
    expect(isWebsocketUpgrade('POST', ['Upgrade', 'websocket'])).toBe(false);
    expect(isWebsocketUpgrade('GET', ['Upgrade', 'h2c'])).toBe(false);
  });

  it('writes IPv4-mapped addresses as IPv4', () => {
    expect(clientAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('unknown');
  });
});
