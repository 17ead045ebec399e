import type { Hub } from '../config/load.ts';
import type { CommitReport, PullRequestClient, WriteAction } from '../forge/types.ts';
import type { Logger } from '../logger.ts';
import { duration } from '../gitops/flux.ts';
import type { NodeHealth } from './read-back.ts';

/**
 * Each published commit's deploy result, reported where the change was made: on the
 * commit (a GitLab commit status, a GitHub check run named `lynq/<hub>`) and on the
 * merged pull request (one "Deployed" comment, edited in place). Judged from the
 * read-back's nodes: a commit is the last one that changed each of its nodes.
 */

export type CommitDeploy = {
  sha: string;
  /** Committer time of the commit (seconds): the newest commit is reported first. */
  time: number;
  report: CommitReport;
  nodes: NodeHealth[];
};

/** The deploy result of every commit that is some node's last, newest first. */
export function commitDeploys(hub: string, nodes: readonly NodeHealth[]): CommitDeploy[] {
  const byCommit = new Map<string, { time: number; nodes: NodeHealth[] }>();
  for (const node of nodes) {
    if (node.commit === undefined) continue;
    const entry = byCommit.get(node.commit.commit) ?? { time: node.commit.time, nodes: [] };
    entry.nodes.push(node);
    byCommit.set(node.commit.commit, entry);
  }
  return [...byCommit.entries()]
    .map(([sha, entry]) => {
      const sorted = [...entry.nodes].sort((a, b) => label(a).localeCompare(label(b)));
      return { sha, time: entry.time, nodes: sorted, report: reportOf(hub, sorted) };
    })
    .sort((a, b) => b.time - a.time || a.sha.localeCompare(b.sha));
}

/**
 * Failure when a node is Degraded (its engine says so, or it was not Ready within its
 * timeout after the commit); success when every node is Ready with this commit applied;
 * pending otherwise (Progressing, not applied yet, Missing, Unknown).
 */
function reportOf(hub: string, nodes: readonly NodeHealth[]): CommitReport {
  const failed = nodes.some((node) => node.phase === 'Degraded');
  const done = nodes.every((node) => node.phase === 'Ready' && node.applied);
  const state: CommitReport['state'] = failed ? 'failure' : done ? 'success' : 'pending';
  const summary = nodes
    .map((node) => `${label(node)} ${node.phase}${node.phase === 'Degraded' ? `: ${why(node)}` : ''}`)
    .join(', ');
  return { name: `lynq/${hub}`, state, summary, details: deployedTable(nodes) };
}

function label(node: NodeHealth): string {
  return `${node.form}/${node.uid}`;
}

/** The first line of what went wrong, short enough for a status line. */
function why(node: NodeHealth): string {
  const first = (node.message || node.reason).split('\n')[0]!.trim();
  return first.length > 80 ? `${first.slice(0, 79)}…` : first;
}

const LEAD_TIME_NOTE =
  'Lead time: from the row change seen to the node Ready at its last commit, as the read-back found it (—: not Ready at it yet, or not measured).';

/** Node, phase, applied revision and lead time, one row per node, escaped for Markdown. */
export function deployedTable(nodes: readonly NodeHealth[]): string {
  const rows = nodes.map(
    (node) =>
      `| \`${cell(label(node))}\` | ${node.phase}${node.phase === 'Degraded' ? `: ${cell(why(node))}` : ''} | ${node.appliedRevision === undefined ? '—' : `\`${cell(shortRevision(node.appliedRevision))}\``} | ${leadTimeCell(node)} |`,
  );
  return [
    '| node | phase | applied revision | lead time |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    LEAD_TIME_NOTE,
  ].join('\n');
}

/** The node's lead time at its last commit, as a Go-style duration (`4m12s`), or — when it has none. */
function leadTimeCell(node: NodeHealth): string {
  const lead = node.leadTime;
  return lead?.seconds !== undefined && lead.commit === node.commit?.commit ? duration(lead.seconds) : '—';
}

/** A revision as engines write it (`<sha>`, `main@sha1:<sha>`), with the commit shortened to 12 characters. */
function shortRevision(revision: string): string {
  return revision.replace(/\b([0-9a-f]{12})[0-9a-f]{28}\b/g, '$1').slice(0, 60);
}

/** Row values are input: no pipe, backtick, angle bracket or line break reaches the table as markup. */
function cell(text: string): string {
  return text.replace(/[|`<>\\]/g, (char) => `&#${char.charCodeAt(0)};`).replace(/\s+/g, ' ');
}

export type DeployReportResult =
  | { commit: string; state: CommitReport['state']; status: WriteAction; comment?: WriteAction }
  | { commit: undefined };

export type DeployReporter = (hub: Hub, nodes: readonly NodeHealth[]) => Promise<DeployReportResult>;

/**
 * Reports at most one commit per hub per read-back: the newest whose result changed
 * since this process last reported it (a fresh process asks the forge, which writes
 * nothing when it already shows the same). So a read-back that changed nothing writes
 * nothing, and one that did writes one status and, when the commit came through a
 * merged pull request, edits one comment on it.
 */
export function createDeployReporter(
  openForge: (hub: Hub) => Promise<PullRequestClient>,
  logger: Logger,
): DeployReporter {
  const reported = new Map<string, string>();
  return async (hub, nodes) => {
    const deploys = commitDeploys(hub.name, nodes);
    const next = deploys.find((deploy) => reported.get(`${hub.name} ${deploy.sha}`) !== fingerprint(deploy.report));
    if (next === undefined) return { commit: undefined };
    const forge = await openForge(hub);
    const status = await forge.ensureCommitReport(next.sha, next.report);
    const result: DeployReportResult = { commit: next.sha, state: next.report.state, status };
    const merged = await forge.findMergedPullRequest(next.sha);
    if (merged !== undefined)
      result.comment = await forge.upsertComment(
        merged,
        'deployed',
        `### Deployed: ${next.report.name} (${next.report.state})\n\n${next.report.details}`,
      );
    reported.set(`${hub.name} ${next.sha}`, fingerprint(next.report));
    if (status !== 'unchanged' || (result.comment ?? 'unchanged') !== 'unchanged') {
      logger.info(
        { hub: hub.name, commit: next.sha, state: next.report.state, status, comment: result.comment },
        'deploy result reported on the commit',
      );
    }
    return result;
  };
}

function fingerprint(report: CommitReport): string {
  return `${report.state}\n${report.summary}`;
}
