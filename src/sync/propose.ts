import type { PullRequestSettings } from '../config/hub-schema.ts';
import { GitError } from '../errors.ts';
import type { PullRequest, PullRequestClient } from '../forge/types.ts';
import type { Author, CommitInfo, ManifestsRepo } from '../git/manifests-repo.ts';
import { branchTrailer, isBridgeMessage } from '../git/node-messages.ts';
import type { Logger } from '../logger.ts';
import { fileChanges, type NodeChange, type TreeListing } from '../plan/types.ts';
import { commitMessage } from './commit-message.ts';
import { unifiedDiff } from './diff-text.ts';
import type { Publisher } from './publisher.ts';
import { parseMarker, proposedNodes, pullRequestBody, pullRequestTitle } from './pull-request-body.ts';

export type ProposalInput = {
  hub: string;
  repo: ManifestsRepo;
  forge: PullRequestClient;
  publisher: Publisher;
  logger: Logger;
  /** The target branch, and its head to build the bot branch on (after this sync's push, if any). */
  target: string;
  base: string | undefined;
  /** The bot branch. */
  branch: string;
  /** The nodes routed to the pull request, held removals included. */
  nodes: readonly NodeChange[];
  /** What the target had under the hub's folders when the plan was made (for the diff). */
  existing: TreeListing;
  author: Author;
  /** Seconds since the epoch, for the branch commit. */
  time: number;
  settings: PullRequestSettings;
  /** The rollout gate's waiting note per paced form, for the body. */
  waiting?: readonly string[];
};

/**
 * How the pull-request side ended: `none` (nothing to propose, nothing open), `created`,
 * `updated` or `unchanged` (the pull request now proposes `nodes`), `closed` (nothing
 * left to change), `blocked` (the branch has someone else's commits; not touched),
 * `declined` (a person closed the pull request for exactly these changes).
 */
export type ProposalOutcome = 'none' | 'created' | 'updated' | 'unchanged' | 'closed' | 'blocked' | 'declined';

export type Proposal = {
  outcome: ProposalOutcome;
  branch: string;
  nodes: NodeChange[];
  pullRequest?: { number: number; url: string };
  /** The bot branch was pushed (or deleted) by this sync. */
  branchChanged: boolean;
  /** For blocked and declined: what a person needs to know. */
  note?: string;
  warnings: string[];
};

export type ProposalResult = Proposal | { outcome: 'moved' };

/**
 * The pull-request side of one sync: rebuild the bot branch from the target head as one
 * commit carrying the proposed nodes, push it (force, with a lease) only when its tree
 * changed, then create or update the one open pull request, or close it when the target
 * already has everything. Every step finds what is there first, so a sync that died
 * half way (branch pushed, no pull request) is finished by the next one.
 */
export async function proposeChanges(input: ProposalInput): Promise<ProposalResult> {
  const { repo, forge, branch, target } = input;
  const botHead = await repo.fetch(branch);
  const open = await forge.findOpenPullRequest(branch, target);
  const tip = botHead === undefined ? undefined : await repo.readCommit(botHead);
  const result = (outcome: ProposalOutcome, extra: Partial<Proposal> = {}): Proposal => ({
    outcome,
    branch,
    nodes: [...input.nodes],
    branchChanged: false,
    warnings: [],
    ...extra,
  });

  if (tip !== undefined && !isBridgeCommit(tip, input.hub, branch, input.author))
    return blocked(input, open, tip, result);

  if (input.nodes.length === 0) {
    if (open !== undefined) await forge.closePullRequest(open, closeComment(target, branch));
    if (botHead !== undefined && (await input.publisher.deleteBranch({ repo, branch, expected: botHead })) === 'moved')
      return { outcome: 'moved' };
    if (open !== undefined)
      input.logger.info({ pullRequest: open.number }, 'pull request closed: nothing left to change');
    return result(open === undefined ? 'none' : 'closed', {
      nodes: [],
      pullRequest: open && ref(open),
      branchChanged: botHead !== undefined,
    });
  }

  if (input.base === undefined) {
    throw new GitError(
      `the target branch ${target} does not exist yet, and a pull request needs a branch to merge into: push a first commit to it`,
      { hub: input.hub },
    );
  }
  const proposed = proposedNodes(input.nodes);
  const changes = fileChanges(input.nodes);
  const message = commitMessage(input.hub, proposed, proposed, { trailers: [branchTrailer(branch)] });
  const commit = await repo.commit({
    parent: input.base,
    writes: changes.writes,
    deletes: changes.deletes,
    message,
    author: input.author,
    time: input.time,
  });
  let branchChanged = false;
  if (tip === undefined || tip.tree !== (await repo.readCommit(commit)).tree) {
    const pushed = await input.publisher.pushBranch({
      repo,
      branch,
      commit,
      expected: botHead,
      changes,
      existing: input.existing,
    });
    if (pushed === 'moved') return { outcome: 'moved' };
    branchChanged = true;
    input.logger.info({ branch, commit }, 'pull-request branch pushed');
  }

  if (open === undefined && !branchChanged && botHead !== undefined) {
    // Same content as a pull request a person closed without merging: do not open it again.
    const closed = await forge.findClosedPullRequest(branch, target, botHead);
    if (closed !== undefined && !closed.merged) {
      const note = `pull request #${closed.number} proposing exactly these changes was closed without merging; they are not proposed again until they change (reopen it, or delete the branch ${branch}, to propose them now)`;
      return result('declined', { pullRequest: ref(closed), note });
    }
  }

  const diff = await unifiedDiff(changes, input.existing, (ids) => repo.readBlobs(ids), {
    maxChars: input.settings.maxDiffChars,
  });
  const labels = input.settings.labels;
  const ensured = await forge.ensurePullRequest(
    {
      branch,
      base: target,
      title: pullRequestTitle(input.hub, input.nodes),
      body: pullRequestBody({
        hub: input.hub,
        branch,
        target,
        nodes: input.nodes,
        diff,
        labels,
        waiting: input.waiting,
      }),
      labels,
      ownedLabels: open === undefined ? [] : (parseMarker(open.body)?.labels ?? []),
      reviewers: input.settings.reviewers,
      teamReviewers: input.settings.teamReviewers,
      draft: input.settings.draft,
      autoMerge: input.settings.autoMerge,
    },
    open,
  );
  for (const warning of ensured.warnings) input.logger.warn({ warning }, 'pull request set up only in part');
  if (ensured.action !== 'unchanged')
    input.logger.info({ pullRequest: ensured.pullRequest.number, action: ensured.action }, 'pull request');
  return result(ensured.action, { pullRequest: ref(ensured.pullRequest), branchChanged, warnings: ensured.warnings });
}

/**
 * The bridge's own commit: committed as the hub's author, with the hub and branch
 * trailers. A person's commit on top, an amend, a rebase or GitHub's "Update branch"
 * merge all leave a tip that fails this test.
 */
export function isBridgeCommit(commit: CommitInfo, hub: string, branch: string, author: Author): boolean {
  return commit.committer.email === author.email && isBridgeMessage(commit.message, hub, branch);
}

async function blocked(
  input: ProposalInput,
  open: PullRequest | undefined,
  tip: CommitInfo,
  result: (outcome: ProposalOutcome, extra?: Partial<Proposal>) => Proposal,
): Promise<Proposal> {
  const who = `${tip.committer.name} <${tip.committer.email}>`;
  const note = `the branch ${input.branch} ends with commit ${tip.id.slice(0, 12)} by ${who}, not made by the bridge; it is left as it is`;
  input.logger.warn(
    { branch: input.branch, commit: tip.id },
    'pull-request branch has commits by someone else; not updated',
  );
  if (open !== undefined && input.nodes.length > 0) {
    const waiting = proposedNodes(input.nodes)
      .slice(0, 20)
      .map((node) => `\`${node.form}/${node.uid}\` ${node.status}`);
    const more = input.nodes.length > waiting.length ? `, and ${input.nodes.length - waiting.length} more` : '';
    const body = [
      `The Lynq bridge did not update this pull request: its branch \`${input.branch}\` now ends with commit ${tip.id.slice(0, 12)} by ${who}, which the bridge did not make, and the bridge never overwrites other people's commits.`,
      '',
      `Waiting for this branch: ${waiting.join(', ')}${more}.`,
      '',
      `To hand the branch back, delete \`${input.branch}\` (GitHub closes this pull request); the next sync rebuilds it and opens a new one. To keep the commits, merge or close this pull request yourself.`,
    ].join('\n');
    await input.forge.ensureComment(open, `blocked ${tip.id}`, body);
  }
  return result('blocked', { pullRequest: open && ref(open), note });
}

function closeComment(target: string, branch: string): string {
  return `\`${target}\` already has every change this pull request proposed, so there is nothing left to merge. The Lynq bridge closes it and deletes the branch \`${branch}\`; the next change opens a new pull request.`;
}

function ref(pullRequest: PullRequest): { number: number; url: string } {
  return { number: pullRequest.number, url: pullRequest.url };
}
