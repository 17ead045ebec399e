import { countByStatus, type NodeChange } from '../plan/types.ts';
import { branchTrailer, hubTrailer, nodeTableRow, nodeTrailer } from '../git/node-messages.ts';
import { KUSTOMIZATION_FILE, LYNQNODE_FILE } from '../render/node.ts';
import { MAX_BODY_NODES } from './commit-message.ts';
import { releasedByPullRequest } from './deletion-guard.ts';

/** GitHub refuses bodies over 65,536 characters; stay well under it. */
export const MAX_BODY_CHARS = 60_000;

const MARKER = /<!-- lynq:pull-request (\{.*?\}) -->/;

/** What a later sync reads back from its own pull request. */
export type PullRequestMarker = { hub: string; branch: string; labels: string[] };

export function formatMarker(marker: PullRequestMarker): string {
  return `<!-- lynq:pull-request ${JSON.stringify(marker)} -->`;
}

export function parseMarker(body: string): PullRequestMarker | undefined {
  const match = MARKER.exec(body);
  if (!match) return undefined;
  try {
    const raw = JSON.parse(match[1]!) as Partial<PullRequestMarker>;
    if (typeof raw.hub !== 'string') return undefined;
    return {
      hub: raw.hub,
      branch: typeof raw.branch === 'string' ? raw.branch : '',
      labels: Array.isArray(raw.labels) ? raw.labels.filter((label): label is string => typeof label === 'string') : [],
    };
  } catch {
    return undefined;
  }
}

/** The nodes as the pull request proposes them: a held removal is a removal there (merging is the approval). */
export function proposedNodes(nodes: readonly NodeChange[]): NodeChange[] {
  return nodes.map(releasedByPullRequest);
}

/** `lynq(customers): 1 added, 2 removed`, as the commit summary line. */
export function pullRequestTitle(hub: string, nodes: readonly NodeChange[]): string {
  const counts = countByStatus(proposedNodes(nodes));
  const parts = (['added', 'updated', 'removed'] as const)
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`);
  return `lynq(${hub}): ${parts.join(', ') || 'no changes'}`;
}

export type BodyInput = {
  hub: string;
  branch: string;
  target: string;
  /** The proposed nodes, held ones with status `held`. */
  nodes: readonly NodeChange[];
  diff: { text: string; files: number; omittedFiles: number; totalChars: number };
  /** Labels the bridge manages on this pull request (kept in the marker). */
  labels: readonly string[];
  /** Per paced form, what the rollout gate keeps for later batches ("web: 8 waiting for rollout slot, 0 of 10 done"). */
  waiting?: readonly string[];
};

/**
 * The body: counts, a table with one row per node (capped), the held-back note, a
 * collapsed diff excerpt, the hidden marker, and trailers naming the hub and every node
 * (left out only when they would not fit: the branch commit always has them all).
 */
export function pullRequestBody(input: BodyInput): string {
  const nodes = proposedNodes(input.nodes);
  const counts = countByStatus(nodes);
  const held = input.nodes.filter((node) => node.status === 'held').length;
  const parts = (['added', 'updated', 'removed'] as const).map((status) => `**${counts[status]}** ${status}`);
  const head = [
    `The Lynq bridge proposes these changes to the nodes of hub \`${input.hub}\`: ${parts.join(', ')}.`,
    '',
    `This branch (\`${input.branch}\`) is rebuilt from \`${input.target}\` on every sync while the database asks for these changes; merging applies them. A commit pushed to it by someone else stops the bridge from updating it.`,
  ];
  if (held > 0) {
    head.push(
      '',
      `> **Held back by the deletion guard:** ${held} removal${held === 1 ? '' : 's'} in this pull request would otherwise have waited for \`--allow-deletions\`. Merging this pull request removes ${held === 1 ? 'that node' : 'those nodes'}.`,
    );
  }
  if (input.waiting !== undefined && input.waiting.length > 0) {
    head.push(
      '',
      `> **Rollout:** this pull request carries the next batch only; the rest wait for a slot and come in later syncs (${input.waiting.join('; ')}).`,
    );
  }
  const table = ['', '| node | change | why | resources |', '| --- | --- | --- | --- |'];
  for (const node of nodes.slice(0, MAX_BODY_NODES)) {
    table.push(
      nodeTableRow(`${node.form}/${node.uid}`, node.status, node.reasons.join('; '), resourcesOf(node).join(', ')),
    );
  }
  if (nodes.length > MAX_BODY_NODES)
    table.push(
      '',
      `… and ${nodes.length - MAX_BODY_NODES} more nodes (all are named in the branch commit's trailers).`,
    );

  const marker = formatMarker({ hub: input.hub, branch: input.branch, labels: [...input.labels] });
  const shortTrailers = ['', hubTrailer(input.hub), branchTrailer(input.branch)];
  const trailers = [...shortTrailers, ...nodes.map(nodeTrailer)];

  const fixed = [...head, ...table, '', marker].join('\n');
  const trailerText = (fixed.length + trailers.join('\n').length < MAX_BODY_CHARS ? trailers : shortTrailers).join(
    '\n',
  );
  const room = MAX_BODY_CHARS - fixed.length - trailerText.length - 400;
  const diff = diffSection(input.diff, room);
  return `${[...head, ...table, ...diff, '', marker, trailerText].join('\n')}\n`;
}

function diffSection(diff: BodyInput['diff'], room: number): string[] {
  if (diff.files === 0) return [];
  const shown = diff.files - diff.omittedFiles;
  const fits = diff.text.length <= room;
  if (shown === 0 || !fits)
    return [
      '',
      `The diff (${diff.files} files, ${diff.totalChars} characters) is too large to show here; see the pull request's files.`,
    ];
  const summary =
    diff.omittedFiles === 0
      ? `Diff (${diff.files} files)`
      : `Diff excerpt (${shown} of ${diff.files} files; the rest in the pull request's files)`;
  // A fence longer than any backtick run in the diff, so file content cannot end it.
  const fence = '`'.repeat(Math.max(3, ...[...diff.text.matchAll(/`+/g)].map((run) => run[0].length + 1)));
  return [
    '',
    '<details>',
    `<summary>${summary}</summary>`,
    '',
    `${fence}diff`,
    diff.text.trimEnd(),
    fence,
    '',
    '</details>',
  ];
}

/** The resources a node change touches; for a removal, the resource files it deletes. */
function resourcesOf(node: NodeChange): readonly string[] {
  if (node.resources.length > 0 || node.status !== 'removed') return node.resources;
  return node.deletes
    .map((file) => file.slice(file.lastIndexOf('/') + 1))
    .filter((name) => name.endsWith('.yaml') && name !== KUSTOMIZATION_FILE && name !== LYNQNODE_FILE)
    .map((name) => name.replace(/\.yaml$/, ''));
}
