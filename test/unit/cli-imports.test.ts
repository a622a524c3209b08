import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * `saasctl --help` and the API commands must start in a blink (bench/cli.ts measures it): what
 * src/cli/main.ts loads before it runs a command, its static imports followed through src/, may
 * not reach the platform's own heavy dependencies (fastify, pg, kysely, zod, the AWS SDK,
 * Stripe, ...). Commands that need them import them when they run (`await import(...)`).
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const ALLOWED_PACKAGES = new Set(['commander', 'cli-progress']);

/** The module specifiers a file loads when it is loaded: value imports and re-exports, not `import type` nor `import()`. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause && !clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings)
          ? clause.namedBindings.elements.every((element) => element.isTypeOnly)
          : false);
      if (!typeOnly) found.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      found.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return found;
}

/** Every package reached from `entry` through static imports, with the chain of files that reaches it. */
function packagesLoadedBy(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith('.')) {
        visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')), [...chain, relative(SRC, file)]);
      } else if (!specifier.startsWith('node:') && !packages.has(specifier)) {
        packages.set(specifier, [...chain, relative(SRC, file)]);
      }
    }
  };
  visit(entry, []);
  return packages;
}

describe('the CLI entry point', () => {
  it('loads only light packages before a command runs', () => {
    const loaded = packagesLoadedBy(resolve(SRC, 'cli/main.ts'));
    const heavy = [...loaded].filter(([name]) => !ALLOWED_PACKAGES.has(name)).map(([name, chain]) => `${name} via ${chain.join(' -> ')}`);
    expect(heavy).toEqual([]);
    expect([...loaded.keys()]).toContain('commander');
  });

  it('would notice a heavy import (the check itself works)', () => {
    // local-commands.ts is what main.ts loads lazily: followed statically, it reaches the platform.
    const loaded = packagesLoadedBy(resolve(SRC, 'cli/local-commands.ts'));
    expect([...loaded.keys()]).toEqual(expect.arrayContaining(['fastify', 'kysely', 'zod']));
  });
});
