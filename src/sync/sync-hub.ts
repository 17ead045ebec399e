import type { Form, Hub } from '../config/load.ts';
import { ConfigError, GitError, isLynqError, messageOf } from '../errors.ts';
import type { PullRequestClient } from '../forge/types.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { Logger } from '../logger.ts';
import { diffHub } from '../plan/diff.ts';
import { prepareHub } from '../plan/render-hub.ts';
import { hubPrefixes } from '../plan/prefixes.ts';
import { changedNodes, fileChanges, type Plan, type TreeListing } from '../plan/types.ts';
import { VerifiedOutputs } from '../plan/verified-outputs.ts';
import { checkRoot } from '../render/paths.ts';
import type { HubRow } from '../sources/rows.ts';
import { commitMessage } from './commit-message.ts';
import { proposeChanges, type Proposal } from './propose.ts';
import type { Publisher } from './publisher.ts';
import { botBranch, resolveRouting, routePlan, usesPullRequests } from './routing.ts';
import type { VerifiedStore } from './verified-store.ts';

export type SyncDeps = {
  logger: Logger;
  /** Read the hub's rows (a RowSource behind it). */
  readRows: (hub: Hub) => Promise<HubRow[]>;
  /** Open the manifests repository named by the hub (or the --repo override). */
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  publisher: Publisher;
  /** The forge that hosts the hub's pull requests; asked for only when the hub routes changes there. */
  openForge?: (hub: Hub) => Promise<PullRequestClient>;
  /** Milliseconds since the epoch, for commit times. */
  clock?: () => number;
  bridgeVersion: string;
  /** Seals checked by earlier syncs (none for a dry run): saves reading LynqNodes that are as they were. */
  verifiedStore?: VerifiedStore;
  /** Store the files of changed nodes in the cache clone while the rest still renders (not for a dry run, which commits nothing). */
  storeAhead?: boolean;
  /** Told when a hub enters a phase; the CLI shows it on a terminal. */
  onPhase?: (hub: string, phase: string) => void;
};

export type SyncOptions = { allowDeletions: boolean };

/**
 * How one hub's sync ended. `source-failed` and `git-failed` published nothing;
 * `published` (a commit pushed to the target branch) and `unchanged` may still hold
 * failed or held-back nodes in their plan, and say what the pull request side did.
 * `pull-request-failed`: the push-routed part (`commit`) went out, the pull request did not.
 */
export type HubSyncResult =
  | { hub: string; outcome: 'published' | 'unchanged'; plan: Plan; commit: string | undefined; attempts: number; proposal?: Proposal }
  | { hub: string; outcome: 'pull-request-failed'; plan: Plan; commit: string | undefined; attempts: number; error: string }
  | { hub: string; outcome: 'source-failed' | 'git-failed'; error: string };

/**
 * One hub, end to end: rows → input hashes → diff against the remote head (rendering
 * the nodes Git does not already have as rendered) → route each node change → one
 * commit of the push-routed part, pushed → the pull-request side (bot branch and pull
 * request) for the rest. A push rejected because the remote moved (the target or the
 * bot branch) is planned again on the new head (no node is rendered twice), up to
 * `publish.maxPushAttempts` times.
 */
export async function syncHub(hub: Hub, forms: readonly Form[], deps: SyncDeps, options: SyncOptions): Promise<HubSyncResult> {
  const log = deps.logger.child({ hub: hub.name });
  const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
  const phase = (name: string): void => deps.onPhase?.(hub.name, name);
  let rows: HubRow[];
  phase('reading rows');
  try {
    rows = await deps.readRows(hub);
  } catch (error) {
    if (!isLynqError(error)) throw error;
    log.error({ err: messageOf(error) }, 'source failed; nothing changed');
    return { hub: hub.name, outcome: 'source-failed', error: messageOf(error) };
  }
  log.info({ rows: rows.length }, 'rows read');
  const prepared = prepareHub(hub, forms, rows, { root, bridgeVersion: deps.bridgeVersion });
  const formNames = new Set(forms.map((form) => form.name));

  const routing = resolveRouting(hub.spec.publish);
  const branchForPullRequests = botBranch(hub.name, hub.spec.publish);
  let repo: ManifestsRepo | undefined;
  try {
    repo = await deps.openRepo(hub);
    const { branch, maxPushAttempts, author } = hub.spec.publish;
    if (usesPullRequests(routing) && branchForPullRequests === branch) {
      throw new ConfigError(`the pull-request branch must differ from the target branch ${branch}`, { hub: hub.name, file: hub.file, field: 'spec.publish.pullRequest.branch' });
    }
    const known = (await deps.verifiedStore?.load(hub)) ?? new Set<string>();
    // Kept across attempts: a push that went out stays published when the bot branch then moves.
    let commit: string | undefined;
    let published = false;
    for (let attempt = 1; attempt <= maxPushAttempts; attempt++) {
      phase(`comparing ${prepared.inputs.length} nodes with git, rendering what changed${attempt === 1 ? '' : ` (attempt ${attempt})`}`);
      let head = await repo.fetch(branch);
      const existing = await listPrefixes(repo, head, hubPrefixes(hub, root));
      const verified = new VerifiedOutputs(known);
      const storeAhead = deps.storeAhead === true ? (files: ReadonlyMap<string, string>) => repo!.storeAhead(files) : undefined;
      const plan = await diffHub({ hub, root, formNames, prepared, existing, readBlobs: (ids) => repo!.readBlobs(ids), allowDeletions: options.allowDeletions, verified, storeAhead });
      log.info({ nodes: prepared.inputs.length, rendered: plan.rendered }, 'compared with git');
      await remember(deps.verifiedStore, hub, verified, log);
      const routed = usesPullRequests(routing) ? routePlan(plan, routing) : { push: changedNodes(plan), propose: [] };
      if (routed.push.length > 0) {
        const proposed = { count: routed.propose.length, branch: branchForPullRequests };
        const all = plan.nodes.filter((node) => !routed.propose.includes(node));
        const message = commitMessage(hub.name, routed.push, all, { proposed });
        const result = await deps.publisher.publish({ repo, hub: hub.name, changes: fileChanges(routed.push), head, existing, branch, message, author });
        if (result.outcome === 'moved') {
          log.warn({ attempt }, 'remote branch moved during the sync; planning again on the new head');
          continue;
        }
        log.info({ commit: result.commit, attempt }, 'published');
        commit = result.commit;
        published = true;
        head = result.commit ?? head;
      }
      const outcome = published ? 'published' : 'unchanged';
      if (!usesPullRequests(routing)) return { hub: hub.name, outcome, plan, commit, attempts: attempt };

      phase('pull request');
      let proposal;
      try {
        const forge = await openForge(deps, hub);
        const time = (deps.clock ?? Date.now)() / 1000;
        const input = { hub: hub.name, repo, forge, publisher: deps.publisher, logger: log, target: branch, base: head, branch: branchForPullRequests, nodes: routed.propose, existing, author, time, settings: hub.spec.publish.pullRequest };
        proposal = await proposeChanges(input);
      } catch (error) {
        if (!isLynqError(error)) throw error;
        log.error({ err: messageOf(error) }, 'pull request failed');
        return { hub: hub.name, outcome: 'pull-request-failed', plan, commit, attempts: attempt, error: messageOf(error) };
      }
      if (proposal.outcome === 'moved') {
        log.warn({ attempt, branch: branchForPullRequests }, 'pull-request branch moved during the sync; planning again');
        continue;
      }
      return { hub: hub.name, outcome, plan, commit, attempts: attempt, proposal };
    }
    throw new GitError(`the remote branch kept moving: gave up after ${maxPushAttempts} attempts`, { hub: hub.name });
  } catch (error) {
    if (!isLynqError(error)) throw error;
    log.error({ err: messageOf(error) }, 'git failed; nothing published');
    return { hub: hub.name, outcome: 'git-failed', error: messageOf(error) };
  } finally {
    await repo?.close();
  }
}

/** Keep this sync's checked seals for the next one; a failure to write costs only speed. */
async function remember(store: VerifiedStore | undefined, hub: Hub, verified: VerifiedOutputs, log: Logger): Promise<void> {
  const keys = verified.changed();
  if (store === undefined || keys === undefined) return;
  try {
    await store.save(hub, keys);
  } catch (error) {
    log.warn({ err: messageOf(error) }, 'could not keep the checked seals; the next sync reads every LynqNode');
  }
}

async function openForge(deps: SyncDeps, hub: Hub): Promise<PullRequestClient> {
  if (deps.openForge === undefined) throw new ConfigError('this hub routes changes to pull requests, but no forge is set up', { hub: hub.name, file: hub.file, field: 'spec.publish.platform' });
  return deps.openForge(hub);
}

async function listPrefixes(repo: ManifestsRepo, head: string | undefined, prefixes: readonly string[]): Promise<TreeListing> {
  const listing: TreeListing = new Map();
  for (const prefix of prefixes) for (const [path, id] of await repo.listTree(head, prefix)) listing.set(path, id);
  return listing;
}
