/**
 * The TLS ask decision (gateway/tls-ask.ts) at scale: 10,000 tenants and 10,000 verified custom
 * domains in the in-memory tables, asked for a mix of names (tenant subdomains, custom domains,
 * unknown names, platform hosts, malformed ones), as an edge under a flood of handshakes for
 * random names would ask. Prints the cost per ask and asks per second. Not part of the test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/tls-ask.ts
 *
 * Environment: BENCH_ASKS (default 1,000,000), BENCH_TENANTS (default 10,000).
 */
import { loadavg } from 'node:os';
import { mayIssueCertificate, type TenantRoute } from '../src/gateway/index.js';

const asks = Number(process.env.BENCH_ASKS ?? 1_000_000);
const tenants = Number(process.env.BENCH_TENANTS ?? 10_000);
const BASE = 'saas.example.net';

const routes = new Map<string, TenantRoute>();
const domains = new Map<string, string>();
for (let i = 0; i < tenants; i++) {
  const name = `tenant${i}`;
  routes.set(name, {
    tenantId: String(i),
    tenantName: name,
    databaseName: `t_${name}`,
    state: i % 10 === 0 ? 'stopped' : 'running',
    upstream: undefined,
  });
  domains.set(`erp.customer${i}.com`, name);
}
const options = {
  baseDomain: BASE,
  resolveRoute: (name: string) => routes.get(name),
  resolveCustomDomain: (host: string) => domains.get(host),
  platformHosts: [BASE, `app.${BASE}`],
};

const names: string[] = [];
for (let i = 0; i < 1000; i++) {
  names.push(`tenant${(i * 7) % tenants}.${BASE}`, `erp.customer${(i * 13) % tenants}.com`);
  names.push(`random-${i}.attacker.example`, `nobody${i}.${BASE}`, `a.b${i}.${BASE}`, `app.${BASE}`, `x y${i}`, `10.0.${i % 250}.1`);
}

function run(count: number): { allowed: number; ns: number } {
  let allowed = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) if (mayIssueCertificate(names[i % names.length] as string, options)) allowed++;
  return { allowed, ns: Number(process.hrtime.bigint() - started) };
}

run(Math.min(asks, 100_000)); // warm-up: JIT
const { allowed, ns } = run(asks);
const [one, five] = loadavg();
process.stdout.write(
  [
    `TLS ask decision: ${asks.toLocaleString('en')} asks over ${tenants.toLocaleString('en')} tenants and ${tenants.toLocaleString('en')} custom domains`,
    `  ${(ns / asks).toFixed(0)} ns per ask, ${Math.round(asks / (ns / 1e9)).toLocaleString('en')} asks/s on one core (${allowed.toLocaleString('en')} allowed)`,
    `  load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min)`,
    '',
  ].join('\n'),
);
