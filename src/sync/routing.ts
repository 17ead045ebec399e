import type { Publish, Route } from '../config/hub-schema.ts';
import type { NodeChange, Plan } from '../plan/types.ts';

/** The kinds of node change a hub can route separately (`spec.publish.routing`). */
export type ChangeKind = 'added' | 'rowChanged' | 'formChanged' | 'removed';
export const CHANGE_KINDS: readonly ChangeKind[] = ['added', 'rowChanged', 'formChanged', 'removed'];

export type ResolvedRouting = Record<ChangeKind, Route> & {
  /** Removals held back by the deletion guard: proposed in the pull request, or kept until --allow-deletions. */
  held: 'hold' | 'pull-request';
};

/** `routing` over `mode`: a kind left out follows the mode; held removals go by pull request when the hub has one. */
export function resolveRouting(publish: Pick<Publish, 'mode' | 'routing'>): ResolvedRouting {
  const routing = publish.routing ?? {};
  const resolved = {
    added: routing.added ?? publish.mode,
    rowChanged: routing.rowChanged ?? publish.mode,
    formChanged: routing.formChanged ?? publish.mode,
    removed: routing.removed ?? publish.mode,
  };
  const anyPullRequest = CHANGE_KINDS.some((kind) => resolved[kind] === 'pull-request');
  return { ...resolved, held: routing.held ?? (anyPullRequest ? 'pull-request' : 'hold') };
}

export function usesPullRequests(routing: ResolvedRouting): boolean {
  return routing.held === 'pull-request' || CHANGE_KINDS.some((kind) => routing[kind] === 'pull-request');
}

/**
 * Which kinds a node change is. An update may be several at once (a row and its form
 * both changed). Only changed columns make a row change; an engine object removed is a
 * removal (Argo CD deletes an Application's workloads with it); every other cause (the form,
 * hub settings, the bridge version, files edited in Git) counts as `formChanged`, so a
 * new kind of cause errs on the side of review.
 */
export function changeKinds(node: NodeChange): ChangeKind[] {
  if (node.status === 'added') return ['added'];
  if (node.status === 'removed' || node.status === 'held') return ['removed'];
  // Updated, or any other status that still writes (a conflicted node's other files).
  if (node.status === 'failed' || (node.writes.size === 0 && node.deletes.length === 0)) return [];
  const kinds = new Set<ChangeKind>(
    node.causes.map((cause) => (cause === 'row' ? 'rowChanged' : cause === 'engine' ? 'removed' : 'formChanged')),
  );
  if (kinds.size === 0) kinds.add('formChanged');
  return [...kinds];
}

/** Where one node's change goes; `none` for nodes with nothing to publish (unchanged, failed, held and kept). */
export function routeNode(node: NodeChange, routing: ResolvedRouting): Route | 'none' {
  if (node.status === 'held') return routing.held === 'pull-request' ? 'pull-request' : 'none';
  const kinds = changeKinds(node);
  if (kinds.length === 0) return 'none';
  // The strictest route wins: one reason that needs review is enough.
  return kinds.some((kind) => routing[kind] === 'pull-request') ? 'pull-request' : 'push';
}

export type RoutedPlan = {
  /** Committed to the target branch now. */
  push: NodeChange[];
  /** Proposed in the hub's pull request (held removals included when routed there). */
  propose: NodeChange[];
};

export function routePlan(plan: Plan, routing: ResolvedRouting): RoutedPlan {
  const routed: RoutedPlan = { push: [], propose: [] };
  for (const node of plan.nodes) {
    const route = routeNode(node, routing);
    if (route === 'push') routed.push.push(node);
    else if (route === 'pull-request') routed.propose.push(node);
  }
  return routed;
}

/** The bot branch of a hub: `spec.publish.pullRequest.branch`, default `lynq/<hub>`. */
export function botBranch(hub: string, publish: Pick<Publish, 'pullRequest'>): string {
  return publish.pullRequest.branch ?? `lynq/${hub}`;
}
