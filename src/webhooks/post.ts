import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './targets.js';

export interface PostOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

const MAX_ERROR_BODY = 300;

/**
 * POSTs the body to the target's checked address: the socket's lookup answers that address, so
 * no second DNS answer can slip in, while the Host header and TLS name stay the URL's. Redirects
 * are not followed (a 3xx is a failure: the receiver's URL is what was registered and checked).
 */
export function postToTarget(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'odoo-saas-webhooks/1',
          ...headers,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          const answer = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
          resolve({ ok, statusCode: status, error: ok ? null : `HTTP ${status}${answer ? `: ${answer}` : ''}` });
        });
        res.on('error', (error) => resolve({ ok: false, statusCode: res.statusCode ?? null, error: error.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, statusCode: null, error: error.message }));
    req.end(body);
  });
}
