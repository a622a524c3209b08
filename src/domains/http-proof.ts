/**
 * The HTTP proof, for domains whose DNS cannot show a CNAME (an apex, or a record proxied by a
 * CDN that answers with its own addresses): the platform asks
 * `http://<domain>/.well-known/odoo-saas-verify/<token>` and the edge forwards it to the platform,
 * which answers the claim's token. An answer proves the domain's traffic reaches this platform;
 * whose claim it is follows from the DNS (a CNAME to that tenant's host) or, without a CNAME, from
 * there being no other claim on the domain (service.ts; a contested domain needs the TXT record).
 *
 * The request goes to an address the customer chose: only public ones (or networks the operator
 * allowed), pinned to the address checked, a fixed path, a GET, a body read up to 1 KiB.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';
import type { BlockList } from 'node:net';
import { isIP } from 'node:net';
import type { Db } from '../db/index.js';
import { isAllowedAddress } from '../webhooks/index.js';
import { claimWithToken } from './store.js';

export const HTTP_PROOF_PATH = '/.well-known/odoo-saas-verify/';
const TOKEN_PREFIX = 'odoo-saas-verify=';
const MAX_BODY = 1024;

export type HttpProofResult = { reached: true } | { reached: false; problem: string };

export type HttpProofFetch = (domain: string, token: string, addresses: readonly string[]) => Promise<HttpProofResult>;

/** The URL path at which `token` is served. */
export function httpProofPath(token: string): string {
  return `${HTTP_PROOF_PATH}${token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : token}`;
}

export function createHttpProofFetch(options: { port: number; allowedNetworks: BlockList; timeoutMs?: number }): HttpProofFetch {
  return async (domain, token, addresses) => {
    const address = addresses.find((candidate) => isAllowedAddress(candidate, options.allowedNetworks));
    if (!address)
      return {
        reached: false,
        problem: `${domain} resolves to ${addresses.join(', ') || 'no address'}, which the platform does not send requests to.`,
      };
    return new Promise<HttpProofResult>((resolve) => {
      const req = request(
        {
          host: address,
          family: isIP(address) === 6 ? 6 : 4,
          port: options.port,
          method: 'GET',
          path: httpProofPath(token),
          headers: { host: domain, 'user-agent': 'odoo-saas-domain-check' },
          timeout: options.timeoutMs ?? 5_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            if (body.length > MAX_BODY) res.destroy();
          });
          res.on('close', () => {
            if (res.statusCode === 200 && body.trim() === token) resolve({ reached: true });
            else
              resolve({
                reached: false,
                problem: `http://${domain}${HTTP_PROOF_PATH}... answered ${res.statusCode} without the token: the domain does not lead to this platform.`,
              });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ reached: false, problem: `http://${domain}/ could not be reached (${error.code ?? error.message}).` }),
      );
      req.end();
    });
  };
}

/**
 * Answers a proof request arriving at the platform (any host): the token of the claim on that
 * host with that token, or 404. Returns false for every other request, which goes on as usual.
 */
export function createHttpProofResponder(db: Db): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(HTTP_PROOF_PATH) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const token = `${TOKEN_PREFIX}${url.slice(HTTP_PROOF_PATH.length).split('?')[0]}`;
    let domain: string;
    try {
      domain = new URL(`http://${req.headers.host ?? ''}`).hostname.toLowerCase().replace(/\.$/, '');
    } catch {
      domain = '';
    }
    const answer = (status: number, body: string) => {
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    claimWithToken(db, domain, token).then(
      (claim) => answer(claim ? 200 : 404, claim ? token : 'not found'),
      () => answer(503, 'try again later'),
    );
    return true;
  };
}
