import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../errors/index.js';

/**
 * NUL cannot be stored in PostgreSQL text (the insert fails, which used to surface as a 500), and a
 * lone UTF-16 surrogate has no UTF-8 encoding (the driver silently stores U+FFFD instead). Under
 * the `u` flag `\p{Cs}` matches only unpaired surrogates, as pairs form one astral code point.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** Replaces what PostgreSQL cannot store, for text we record rather than validate (audit targets). */
export function storableText(text: string): string {
  return text.replace(new RegExp(UNSTORABLE.source, 'gu'), '\uFFFD');
}

/**
 * Returns the path of the first string in `value` that PostgreSQL cannot store verbatim.
 * Iterative, and each node links to its parent instead of copying its path, so a body nested
 * thousands of levels deep neither overflows the stack nor costs quadratic time.
 */
export function findUnstorableText(value: unknown): string[] | undefined {
  interface Node {
    value: unknown;
    key: string;
    parent: Node | undefined;
  }
  const pending: Node[] = [{ value, key: '', parent: undefined }];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (typeof node.value === 'string') {
      if (!UNSTORABLE.test(node.value)) continue;
      const path: string[] = [];
      for (let at: Node | undefined = node; at?.parent; at = at.parent) path.push(at.key);
      return path.reverse();
    }
    if (node.value !== null && typeof node.value === 'object') {
      for (const [key, child] of Object.entries(node.value)) pending.push({ value: child, key, parent: node });
    }
  }
  return undefined;
}

/** Refuses such text in the path, the query and the body of every route, before validation. */
export function installTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const parts: Array<[string, unknown]> = [
      ['params', request.params],
      ['query', request.query],
      // A streamed body (an imported zip) is bytes to store as a file, not text to walk.
      ['body', request.body instanceof Readable ? undefined : request.body],
    ];
    for (const [part, value] of parts) {
      const path = findUnstorableText(value);
      if (!path) continue;
      const field = part === 'body' ? path.join('.') || 'body' : [part, ...path].join('.');
      throw new ValidationError(`${field}: must not contain NUL characters or unpaired UTF-16 surrogates.`, { field });
    }
  });
}
