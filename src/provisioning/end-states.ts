import type { DatabaseOwnership } from '../postgres/index.js';

/**
 * What a finished clone step looks like, so a step retried after a crash can tell a finished
 * database from one that merely exists (e.g. copied, but its tables still the template owner's).
 * Returns what is wrong; empty when the step is complete.
 */
export function cloneEndStateProblems(
  state: DatabaseOwnership | undefined,
  expected: { role: string; handedOverFrom: string[]; connectionLimit: number },
): string[] {
  if (!state) return ['the database does not exist'];
  const problems: string[] = [];
  if (!state.ownerActsAsRole) problems.push(`the database belongs to ${state.owner}, not to ${expected.role}`);
  const leftOver = state.objectOwners.filter((owner) => expected.handedOverFrom.includes(owner));
  if (leftOver.length > 0) problems.push(`objects still belong to ${leftOver.join(', ')}`);
  if (state.connectionLimit !== expected.connectionLimit)
    problems.push(`connection limit is ${state.connectionLimit}, not ${expected.connectionLimit}`);
  return problems;
}
