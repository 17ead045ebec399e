import { describeNode } from '../git/node-messages.ts';
import { printable } from './printable.ts';
import type { Proposal } from '../sync/propose.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import { countByStatus, type NodeChange, type RolloutProgress } from '../plan/types.ts';
import { waitingReason } from '../sync/rollout-gate.ts';
import { EXIT_CONFIG, EXIT_NOT_PUBLISHED, EXIT_OK, EXIT_PARTIAL } from './exit-codes.ts';

/**
 * The exit code comes from the summary, nowhere else: 3 when a hub's source, git or pull
 * request failed (or its sync was aborted), else 2 when a hub's config was found wrong
 * during its sync, else 1 for failed, conflicted or held nodes or a halted rollout, else 0.
 */
export function exitCodeOf(results: readonly HubSyncResult[]): number {
  const failed = (outcome: HubSyncResult['outcome']): boolean => results.some((result) => result.outcome === outcome);
  if (
    failed('source-failed') ||
    failed('git-failed') ||
    failed('cluster-failed') ||
    failed('pull-request-failed') ||
    failed('aborted')
  )
    return EXIT_NOT_PUBLISHED;
  if (failed('config-failed')) return EXIT_CONFIG;
  const partial = results.some((result) => {
    if (!('plan' in result)) return false;
    const proposed = proposedIn(result);
    const blocked = 'proposal' in result && result.proposal?.outcome === 'blocked' && result.proposal.nodes.length > 0;
    const halted = result.plan.rollouts?.some((rollout) => rollout.halted) === true;
    return (
      blocked ||
      halted ||
      result.plan.nodes.some(
        (node) =>
          node.status === 'failed' || node.status === 'conflicted' || (node.status === 'held' && !proposed.has(node)),
      )
    );
  });
  return partial ? EXIT_PARTIAL : EXIT_OK;
}

/** Nodes a pull request now proposes (a held removal there waits for the merge, not for a flag). */
function proposedIn(result: HubSyncResult): Set<NodeChange> {
  const proposal = 'proposal' in result ? result.proposal : undefined;
  const live =
    proposal !== undefined &&
    (proposal.outcome === 'created' || proposal.outcome === 'updated' || proposal.outcome === 'unchanged');
  return new Set(live ? proposal.nodes : []);
}

/** The pull-request column: `#12 created`, `blocked`, `-` … */
function pullRequestCell(result: HubSyncResult): string {
  if (result.outcome === 'pull-request-failed') return 'failed';
  const proposal = 'proposal' in result ? result.proposal : undefined;
  if (proposal === undefined || proposal.outcome === 'none') return '-';
  return proposal.pullRequest !== undefined && proposal.pullRequest.number > 0
    ? `#${proposal.pullRequest.number} ${proposal.outcome}`
    : proposal.outcome;
}

function proposalNotes(hub: string, proposal: Proposal | undefined, dryRun: boolean): string[] {
  if (proposal === undefined || proposal.outcome === 'none') return [];
  const notes: string[] = [];
  const pr = proposal.pullRequest;
  const name = pr !== undefined && pr.number > 0 ? `pull request #${pr.number}` : 'the pull request';
  const held = proposal.nodes.filter((node) => node.status === 'held').length;
  if (proposal.outcome === 'blocked') {
    for (const node of proposal.nodes)
      notes.push(
        `${hub}/${node.form}/${node.uid}: blocked (${node.status}${node.reasons.length > 0 ? `; ${node.reasons.join('; ')}` : ''}): ${proposal.note ?? ''}`,
      );
    if (proposal.nodes.length === 0) notes.push(`${hub}: ${proposal.note ?? 'the pull-request branch was left alone'}`);
  } else if (proposal.outcome === 'declined') {
    notes.push(`${hub}: ${proposal.note ?? `${name} was declined`}`);
  } else if (proposal.outcome === 'closed') {
    notes.push(`${hub}: ${name} closed, nothing left to change${pr?.url ? `: ${pr.url}` : ''}`);
  } else if (!dryRun) {
    const heldNote = held > 0 ? `, including ${held} held removal${held === 1 ? '' : 's'} released by merging` : '';
    notes.push(
      `${hub}: ${name} ${proposal.outcome}, proposing ${proposal.nodes.length} node change${proposal.nodes.length === 1 ? '' : 's'}${heldNote}${pr?.url ? `: ${pr.url}` : ''}`,
    );
  }
  for (const warning of proposal.warnings) notes.push(`${hub}: warning: ${warning}`);
  return notes;
}

const ALL_COLUMNS = [
  'added',
  'updated',
  'unchanged',
  'removed',
  'held',
  'conflicted',
  'waiting',
  'paused',
  'failed',
] as const;

/** The table printed at the end of a sync, then every failed or held node with its reason. */
export function summaryTable(
  results: readonly HubSyncResult[],
  options: { dryRun: boolean; listNodes: boolean },
): string {
  // The pull-request column only appears when a hub routes changes to pull requests, so push-only output stays as it was.
  const withPullRequests = results.some((result) => 'proposal' in result || result.outcome === 'pull-request-failed');
  // Likewise the conflicted column: only when some node is conflicted.
  const withConflicts = results.some(
    (result) => 'plan' in result && result.plan.nodes.some((node) => node.status === 'conflicted'),
  );
  // And the waiting column: only when a form's rollout paces some node.
  const withWaiting = results.some(
    (result) => 'plan' in result && result.plan.nodes.some((node) => node.status === 'waiting'),
  );
  // And the paused column: only when a row's valueMappings.paused column pauses some node.
  const withPaused = results.some(
    (result) => 'plan' in result && result.plan.nodes.some((node) => node.status === 'paused'),
  );
  const COLUMNS = ALL_COLUMNS.filter(
    (column) =>
      (column !== 'conflicted' || withConflicts) &&
      (column !== 'waiting' || withWaiting) &&
      (column !== 'paused' || withPaused),
  );
  const header = [
    'hub',
    ...COLUMNS,
    options.dryRun ? 'result' : 'commit',
    ...(withPullRequests ? ['pull request'] : []),
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const result of results) {
    if (!('plan' in result)) {
      rows.push([result.hub, ...COLUMNS.map(() => '-'), result.outcome, ...(withPullRequests ? ['-'] : [])]);
      notes.push(`${result.hub}: ${result.outcome}: ${result.error}`);
      continue;
    }
    const counts = countByStatus(result.plan.nodes);
    const pushed =
      result.outcome === 'published' || (result.outcome === 'pull-request-failed' && result.commit !== undefined);
    // Nothing to publish because every node failed is not "no changes".
    const allFailed = result.plan.nodes.length > 0 && result.plan.nodes.every((node) => node.status === 'failed');
    const nothing = allFailed ? 'failed' : 'no changes';
    const last = options.dryRun
      ? pushed
        ? 'would commit'
        : nothing
      : pushed
        ? (result.commit?.slice(0, 12) ?? '')
        : nothing;
    rows.push([
      result.hub,
      ...COLUMNS.map((column) => String(counts[column])),
      last,
      ...(withPullRequests ? [pullRequestCell(result)] : []),
    ]);
    const proposal = 'proposal' in result ? result.proposal : undefined;
    const proposed = new Set(proposal?.outcome === 'blocked' ? [] : (proposal?.nodes ?? []));
    for (const node of result.plan.nodes) {
      const via = proposed.has(node) ? ' → pull request' : '';
      if (options.listNodes && node.status !== 'failed') notes.push(`${result.hub}/${describeNode(node)}${via}`);
      if (node.status === 'failed') notes.push(`${result.hub}/${node.form}/${node.uid}: failed: ${node.error ?? ''}`);
      else if (node.status === 'held' && !options.listNodes && !proposed.has(node))
        notes.push(`${result.hub}/${describeNode(node)}`);
      else if ((node.status === 'conflicted' || node.status === 'paused') && !options.listNodes)
        notes.push(`${result.hub}/${describeNode(node)}`);
      // A node that stays but whose engine object goes (moved cluster, engine none): a removal in a cluster, said even when published.
      else if (node.status === 'updated' && node.removal !== undefined && !options.listNodes)
        notes.push(`${result.hub}/${describeNode(node)}${via}`);
    }
    for (const rollout of result.plan.rollouts ?? []) notes.push(rolloutNote(result.hub, rollout, options.dryRun));
    if (result.outcome === 'pull-request-failed') notes.push(`${result.hub}: pull-request-failed: ${result.error}`);
    notes.push(...proposalNotes(result.hub, proposal, options.dryRun));
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 || i > COLUMNS.length ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  // A uid or a value from a row may hold a newline or a terminal escape: each note stays one line.
  return [...notes.map(printable), ...(notes.length > 0 ? [''] : []), line(header), ...rows.map(line), ''].join('\n');
}

/** One line per paced form: how far its rollout is, what this sync takes, whether it halted. */
function rolloutNote(hub: string, rollout: RolloutProgress, dryRun: boolean): string {
  const taking = `${rollout.changing} ${dryRun ? 'would change' : 'changing'}, ${rollout.inFlight} in flight, ${rollout.waiting} waiting`;
  const pace = rollout.paced === 'per-sync' ? '; no cluster: maxSkew paces per sync' : '';
  return `${hub}/${rollout.form}: rollout: ${taking}; ${waitingReason(rollout)}${pace}`;
}
