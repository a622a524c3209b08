import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { processExists } from '../system/index.js';

/** Written into DATA_DIR by `saasctl serve` while it serves: where it listens and its pid. */
const SERVING_FILE = 'serving.json';

interface ServingRecord {
  url: string;
  pid: number;
}

/** The URL a local client reaches a listener at (a wildcard address becomes loopback). */
export function clientUrl(address: AddressInfo): string {
  if (address.address === '0.0.0.0') return `http://127.0.0.1:${address.port}`;
  if (address.address === '::') return `http://localhost:${address.port}`;
  return address.family === 'IPv6' ? `http://[${address.address}]:${address.port}` : `http://${address.address}:${address.port}`;
}

/** Records where this process serves; the returned function removes the record (at shutdown). */
export function recordServing(dataDir: string, url: string): () => void {
  const file = join(dataDir, SERVING_FILE);
  const record: ServingRecord = { url, pid: process.pid };
  writeFileSync(file, `${JSON.stringify(record)}\n`);
  return () => {
    // Only our own record: another platform may have started on this DATA_DIR since.
    if (readRecord(file)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/**
 * Where API commands go without --url, SAASCTL_URL or a login: the platform serving from DATA_DIR
 * (its record, when its process is alive), else http://localhost:PORT. DATA_DIR and PORT are
 * read as the platform reads them (environment, then CONFIG_FILE, then the defaults) but without
 * the config module and its validation, which would cost every CLI call its start-up time.
 */
export function defaultPlatformUrl(env: NodeJS.ProcessEnv = process.env): string {
  const record = readRecord(join(resolve(setting(env, 'DATA_DIR') ?? './data'), SERVING_FILE));
  if (record && processExists(record.pid)) return record.url;
  return `http://localhost:${setting(env, 'PORT') ?? 8080}`;
}

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name]) return env[name];
  if (!env.CONFIG_FILE) return undefined;
  try {
    const value: unknown = (JSON.parse(readFileSync(env.CONFIG_FILE, 'utf8')) as Record<string, unknown>)[name];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  } catch {
    return undefined; // `saasctl serve` reports a bad CONFIG_FILE; here it only means "no default from it"
  }
}

function readRecord(file: string): ServingRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServingRecord>;
    return typeof value.url === 'string' && typeof value.pid === 'number' ? { url: value.url, pid: value.pid } : undefined;
  } catch {
    return undefined;
  }
}
