/**
 * The zod type provider writes every named schema (`.meta({ id })`) into the document's
 * components twice, as it reads (`<Name>Input`) and as it writes (`<Name>`), whether a route uses
 * that side or not. Named schemas are views the API answers with, so most `Input` twins are
 * referenced nowhere: they are dropped, so the published contract (and the dashboard's types)
 * holds only what some operation uses.
 */
const REFERENCE_PREFIX = '#/components/schemas/';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names of the component schemas `value` refers to, directly. */
function referencedNames(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) referencedNames(item, found);
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string' && child.startsWith(REFERENCE_PREFIX)) found.add(child.slice(REFERENCE_PREFIX.length));
    else referencedNames(child, found);
  }
}

/** Removes, in place, the component schemas no operation reaches (through other components too). */
export function withoutUnusedComponents<D extends object>(document: D): D {
  const components: unknown = Reflect.get(document, 'components');
  const schemas: unknown = isRecord(components) ? components.schemas : undefined;
  if (!isRecord(schemas)) return document;
  const used = new Set<string>();
  for (const [key, value] of Object.entries(document)) if (key !== 'components') referencedNames(value, used);
  // Components refer to components: follow them until nothing new turns up.
  for (let pending = [...used]; pending.length > 0; ) {
    const next = new Set<string>();
    for (const name of pending) referencedNames(schemas[name], next);
    pending = [...next].filter((name) => !used.has(name));
    for (const name of pending) used.add(name);
  }
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  return document;
}
