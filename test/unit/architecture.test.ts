import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The folder rules of docs/architecture.md, checked on the import graph of src/:
 * - each folder's index.ts is its public face: a file imports another folder only through it;
 * - folders do not depend on each other in a circle (type-only imports included: a cycle of
 *   types still ties two folders into one);
 * - the files at the top of src/ (main.ts and the platform database opener) are the composition
 *   layer: they import the folders, and only the CLI (the second entry point) imports them.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
/** The composition layer is not a folder: files at the top of src/. */
const COMPOSITION = '(composition)';
/** Folders that start the platform themselves and so may call the composition layer. */
const ENTRY_POINTS = new Set(['cli']);

interface ImportEdge {
  from: string;
  to: string;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of src/ as (importing file, imported file), both relative to src/. */
function importEdges(): ImportEdge[] {
  return sourceFiles(SRC).flatMap((file) => {
    // preProcessFile also finds `export ... from` and type-position `import('...')`.
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    return importedFiles
      .filter((reference) => reference.fileName.startsWith('.'))
      .map((reference) => ({
        from: relative(SRC, file),
        to: relative(SRC, resolve(dirname(file), reference.fileName.replace(/\.js$/, '.ts'))),
      }));
  });
}

function folderOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? COMPOSITION : path.slice(0, slash);
}

/** Folders that reach themselves again through others (Tarjan's strongly connected components). */
function folderCycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const [a, b] = [folderOf(from), folderOf(to)];
    if (a === b) continue;
    next.set(a, (next.get(a) ?? new Set()).add(b));
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder) ?? 0);
    stack.push(folder);
    for (const target of next.get(folder) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(folder, Math.min(low.get(folder) ?? 0, low.get(target) ?? 0));
      } else if (stack.includes(target)) {
        low.set(folder, Math.min(low.get(folder) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member !== undefined) component.push(member);
    } while (member !== undefined && member !== folder);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const folder of next.keys()) if (!index.has(folder)) visit(folder);
  return cycles;
}

/** The imports that break a folder rule, each as "importer -> imported (why)". */
function faceViolations(edges: ImportEdge[]): string[] {
  return edges.flatMap(({ from, to }) => {
    const [source, target] = [folderOf(from), folderOf(to)];
    if (source === target) return [];
    if (target === COMPOSITION) {
      return ENTRY_POINTS.has(source) ? [] : [`${from} -> ${to} (only entry points may import the composition layer)`];
    }
    return to === `${target}/index.ts` ? [] : [`${from} -> ${to} (past the face of ${target}/: import ${target}/index.ts)`];
  });
}

describe('architecture of src/', () => {
  const edges = importEdges();

  it('reads the import graph (a broken reader would pass every rule)', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'main.ts', to: 'api/index.ts' });
    // A type-position import is an edge too.
    const typeOnly = ts.preProcessFile("type A = import('../plans/catalog.js').PlanLimits;", true, true).importedFiles;
    expect(typeOnly.map((reference) => reference.fileName)).toEqual(['../plans/catalog.js']);
  });

  it('imports other folders only through their index.ts', () => {
    expect(faceViolations(edges)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(folderCycles(edges)).toEqual([]);
  });

  it('finds a cycle and a face violation when there is one (the checks can fail)', () => {
    const planted: ImportEdge[] = [
      { from: 'db/schema.ts', to: 'plans/catalog.ts' },
      { from: 'plans/service.ts', to: 'db/index.ts' },
      { from: 'tenants/service.ts', to: 'main.ts' },
    ];
    expect(folderCycles(planted)).toEqual([['db', 'plans']]);
    expect(faceViolations(planted)).toEqual([
      'db/schema.ts -> plans/catalog.ts (past the face of plans/: import plans/index.ts)',
      'tenants/service.ts -> main.ts (only entry points may import the composition layer)',
    ]);
  });
});
