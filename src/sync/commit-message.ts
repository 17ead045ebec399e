import { describeNode, hubTrailer, nodeTrailer } from '../git/node-messages.ts';
import { countByStatus, type NodeChange, type NodeStatus } from '../plan/types.ts';

/** Body lines beyond this are summarised; the trailers still name every node. */
export const MAX_BODY_NODES = 200;

export function summaryLine(hub: string, nodes: readonly NodeChange[]): string {
  const counts = countByStatus(nodes);
  const parts = (['added', 'updated', 'conflicted', 'removed'] as const)
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`);
  return `lynq(${hub}): ${parts.length > 0 ? parts.join(', ') : 'no changes'}`;
}

/**
 * One summary line, a body naming each changed node and why, then machine-readable
 * trailers (hub and every changed node) that stay complete when the body is shortened.
 * `changed` are the nodes this commit carries; `all` is the whole plan, for the note on
 * what was left out (failed or held nodes). `proposed` names the pull-request branch
 * that carries the nodes routed there; `trailers` are added after the hub's.
 */
export function commitMessage(
  hub: string,
  changed: readonly NodeChange[],
  all: readonly NodeChange[],
  options: { proposed?: { count: number; branch: string }; trailers?: readonly string[] } = {},
): string {
  const lines = [summaryLine(hub, changed), ''];
  for (const node of changed.slice(0, MAX_BODY_NODES)) lines.push(describeNode(node));
  if (changed.length > MAX_BODY_NODES)
    lines.push(`… and ${changed.length - MAX_BODY_NODES} more nodes (all are named in the trailers below)`);
  const notPublished = countNotPublished(all);
  if (options.proposed !== undefined && options.proposed.count > 0)
    notPublished.unshift(`${options.proposed.count} proposed in ${options.proposed.branch}`);
  if (notPublished.length > 0)
    lines.push('', `Not in this commit: ${notPublished.join(', ')} (what Git had for them is kept).`);
  lines.push('', hubTrailer(hub), ...(options.trailers ?? []));
  for (const node of changed) lines.push(nodeTrailer(node));
  return `${lines.join('\n')}\n`;
}

function countNotPublished(nodes: readonly NodeChange[]): string[] {
  const counts = countByStatus(nodes);
  const out = (['failed', 'held', 'paused'] as NodeStatus[])
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`);
  // A conflicted node's edited files stay as someone left them, whatever else it wrote.
  if (counts.conflicted > 0) out.push(`${counts.conflicted} conflicted (files edited in Git kept)`);
  if (counts.waiting > 0) out.push(`${counts.waiting} ${waitingWords(nodes)}`);
  return out;
}

/** "waiting for rollout slot, 2 of 10 done": the waiting nodes' own words when they share one form, else the count alone. */
function waitingWords(nodes: readonly NodeChange[]): string {
  const words = new Set(
    nodes
      .filter((node) => node.status === 'waiting')
      .map((node) => `${node.reasons.at(-1) ?? 'waiting for rollout slot'} (form ${node.form})`),
  );
  return words.size === 1 ? [...words][0]! : 'waiting for rollout slots';
}
