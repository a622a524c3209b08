import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';

/**
 * A real OpenID provider (the certified `oidc-provider` package) on loopback, with its development
 * login form (any password; the login is the account id). Consent is granted at once, as for a
 * first-party client. `restart(keys)` brings it back on the same port with other signing keys: a
 * key rotated at the provider.
 */

export type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TestAccount {
  email: string;
  email_verified: boolean;
  name: string;
}

export async function newSigningKey(
  kid: string,
  alg: 'RS256' | 'ES256' = 'RS256',
): Promise<{ jwk: JWK; privateKey: SigningKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { jwk, privateKey, publicJwk };
}

export interface TestProvider {
  issuer: string;
  port: number;
  restart(keys: JWK[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startOidcProvider(options: {
  port: number;
  keys: JWK[];
  clients: ClientMetadata[];
  accounts: Record<string, TestAccount>;
}): Promise<TestProvider> {
  const issuer = `http://127.0.0.1:${options.port}`;
  let server: Server | undefined;

  async function listen(keys: JWK[]): Promise<void> {
    const provider = new Provider(issuer, {
      clients: options.clients,
      jwks: { keys },
      cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      // The claims of the requested scopes in the ID token itself (no userinfo call needed).
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600 },
      findAccount: async (_ctx, id) => {
        const account = options.accounts[id];
        return account ? { accountId: id, claims: async () => ({ sub: id, ...account }) } : undefined;
      },
      loadExistingGrant: async (ctx) => {
        const { Grant } = ctx.oidc.provider;
        const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client?.clientId ?? '');
        if (grantId) return Grant.find(grantId);
        const grant = new Grant({ clientId: ctx.oidc.client?.clientId ?? '', accountId: ctx.oidc.session?.accountId ?? '' });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
    const handle = provider.callback();
    // No kept-alive sockets: after a restart, no client (the platform's JWKS fetch included) may
    // reuse a connection the old server closed.
    server = createServer((req, res) => {
      res.setHeader('connection', 'close');
      return handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(options.port, '127.0.0.1', () => resolve());
    });
  }

  async function close(): Promise<void> {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  await listen(options.keys);
  return {
    issuer,
    port: options.port,
    async restart(keys) {
      await close();
      await listen(keys);
    },
    stop: close,
  };
}

/** Cookies per host, enough to walk a sign-in across the platform and the provider. */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const host = new URL(url).host;
    const cookies = this.byHost.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    this.byHost.set(host, cookies);
  }

  header(url: string): string {
    return [...(this.byHost.get(new URL(url).host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).host)?.get(name);
  }
}

/** One request without following redirects, cookies from and to the jar. */
export async function visit(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: {
      cookie: jar.header(url),
      ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
  });
  jar.store(url, response);
  return response;
}

/**
 * Follows a sign-in from `startUrl` as a browser would: redirects, and the provider's login form
 * (filled with `login`), until a redirect leaves for `stopAt` (answered, not followed).
 */
export async function walkSignIn(jar: CookieJar, startUrl: string, login: string, stopAt: (url: string) => boolean): Promise<string> {
  let url = startUrl;
  for (let step = 0; step < 15; step++) {
    const response = await visit(jar, url);
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url).toString();
      if (stopAt(next)) return next;
      url = next;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action || !html.includes('name="login"')) throw new Error(`unexpected page at ${url} (${response.status}): ${html.slice(0, 300)}`);
    const submitted = await visit(jar, new URL(action.replaceAll('&amp;', '&'), url).toString(), {
      method: 'POST',
      form: { prompt: 'login', login, password: 'any-password' },
    });
    const after = submitted.headers.get('location');
    if (!after) throw new Error(`the provider's login form answered ${submitted.status}: ${(await submitted.text()).slice(0, 300)}`);
    url = new URL(after, url).toString();
  }
  throw new Error(`sign-in from ${startUrl} did not finish`);
}

/** An ID token straight from the provider, the test acting as the client (code flow with PKCE). */
export async function idTokenFrom(
  provider: TestProvider,
  client: { clientId: string; clientSecret: string; redirectUri: string },
  login: string,
): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${provider.issuer}/auth`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'openid email profile',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const jar = new CookieJar();
  const back = await walkSignIn(jar, authorize.toString(), login, (url) => url.startsWith(client.redirectUri));
  const code = new URL(back).searchParams.get('code');
  if (!code) throw new Error(`no code in ${back}`);
  const response = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await response.json()) as { id_token?: string };
  if (!body.id_token) throw new Error(`no id_token: ${JSON.stringify(body)}`);
  return body.id_token;
}

/** The dashboard's client at the test provider (confidential, code flow only). */
export const DASHBOARD_CLIENT = { clientId: 'saas-dashboard', clientSecret: 'dashboard-client-secret-0123456789abcdef' };

/** Its registration at the provider, for a platform at `platformUrl` whose issuer is named `idp`. */
export function dashboardClientAt(platformUrl: string): ClientMetadata {
  return {
    client_id: DASHBOARD_CLIENT.clientId,
    client_secret: DASHBOARD_CLIENT.clientSecret,
    redirect_uris: [`${platformUrl}/api/v1/auth/oidc/idp/callback`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
}

/** OIDC_ISSUERS for a platform that trusts the test provider as `idp` ("Test IdP"), sign-up open. */
export function testIssuerSetting(provider: TestProvider, extra: Record<string, unknown> = {}): string {
  return JSON.stringify([
    {
      name: 'idp',
      displayName: 'Test IdP',
      issuer: provider.issuer,
      audience: DASHBOARD_CLIENT.clientId,
      allowSignUp: true,
      codeFlow: { clientId: DASHBOARD_CLIENT.clientId, clientSecret: DASHBOARD_CLIENT.clientSecret },
      ...extra,
    },
  ]);
}
