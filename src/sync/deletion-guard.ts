import type { NodeChange, Plan } from '../plan/types.ts';

/**
 * The deletion guard, as a gate between planning and routing: when a sync would remove
 * more than `maxDeletePercent` of the nodes Git has for a hub, or all of them (a query
 * that suddenly returns no rows), every removal is held back: the node keeps what Git
 * has and carries the deletes it would make, so a pull request can propose them
 * (merging is the approval) or `--allow-deletions` releases them. A removal is a node
 * whose folder goes, or an existing node whose engine object (Argo CD Application, Flux
 * Kustomization) goes: Argo CD deletes an Application's workloads with it.
 *
 * This module writes the held-back wording and is the only one that knows it.
 */
export type DeletionGuardOptions = { maxDeletePercent: number; allowDeletions: boolean };

export function gateDeletions(plan: Plan, options: DeletionGuardOptions): Plan {
  const removals = plan.nodes.filter(isRemoval);
  const total = plan.existingNodes;
  const limit = options.maxDeletePercent;
  const hold =
    !options.allowDeletions &&
    removals.length > 0 &&
    (removals.length === total || (removals.length * 100) / total > limit);
  if (!hold) return plan;
  const held = new Set(removals);
  const why = `held back by the deletion guard: ${removals.length} of ${total} nodes would be removed (limit ${limit}%), rerun with --allow-deletions to remove them`;
  return {
    ...plan,
    nodes: plan.nodes.map((node) =>
      held.has(node) ? { ...node, status: 'held', reasons: [`${node.removal}; ${why}`] } : node,
    ),
  };
}

/** A held removal as its pull request proposes it: merging the pull request is the approval. */
export function releasedByPullRequest(node: NodeChange): NodeChange {
  if (node.status !== 'held') return node;
  const reasons = [
    `${node.removal ?? 'removed'}; held back by the deletion guard, released by merging this pull request`,
  ];
  // A held engine-object removal is an update of a node that stays; a held node folder is a removal.
  return { ...node, status: node.causes.includes('engine') ? 'updated' : 'removed', reasons };
}

/** Whether a node change removes something the engine applies: its folder, or its engine object. */
export function isRemoval(node: NodeChange): boolean {
  return (
    node.removal !== undefined &&
    (node.status === 'removed' || node.status === 'updated' || node.status === 'conflicted')
  );
}
