import { compareStrings } from '../render/canonical-yaml.ts';

/** What the order needs of a form's rollout settings. */
export type RolloutOrdering = { canary: readonly string[]; orderBy: string | undefined };

/**
 * The order a form's gated changes take slots in: canary uids first (in the order
 * listed), then by the `orderBy` column's value (nodes without one after those with
 * one; numbers as numbers, else as strings), then by uid. Pure: the same inputs always pick the same nodes, whichever
 * process (or replica) runs the sync.
 */
export function rolloutOrder<T extends { uid: string }>(
  nodes: readonly T[],
  ordering: RolloutOrdering,
  valuesOf: (uid: string) => Readonly<Record<string, string>> | undefined,
): T[] {
  const canary = new Map(ordering.canary.map((uid, index) => [uid, index]));
  const key = (node: T) => ({
    canary: canary.get(node.uid) ?? Number.POSITIVE_INFINITY,
    value: ordering.orderBy === undefined ? undefined : valuesOf(node.uid)?.[ordering.orderBy],
  });
  const keyed = nodes.map((node) => ({ node, key: key(node) }));
  keyed.sort((a, b) => {
    if (a.key.canary !== b.key.canary) return a.key.canary < b.key.canary ? -1 : 1;
    if (a.key.value !== b.key.value) {
      if (a.key.value === undefined) return 1;
      if (b.key.value === undefined) return -1;
      const byValue = compareValues(a.key.value, b.key.value);
      if (byValue !== 0) return byValue;
    }
    return compareStrings(a.node.uid, b.node.uid);
  });
  return keyed.map(({ node }) => node);
}

/** Two column values: as numbers when both are numbers (a tier 10 after a tier 9), else as strings. */
function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y) && x !== y) return x < y ? -1 : 1;
  return compareStrings(a, b);
}
