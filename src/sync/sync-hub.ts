import type { Form, Hub } from '../config/load.ts';
import { GitError, isLynqError, messageOf, SourceError } from '../errors.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { Logger } from '../logger.ts';
import { diffHub } from '../plan/diff.ts';
import { renderHub } from '../plan/render-hub.ts';
import { hubPrefixes } from '../plan/prefixes.ts';
import { changedNodes, fileChanges, type Plan, type TreeListing } from '../plan/types.ts';
import { checkRoot } from '../render/paths.ts';
import type { HubRow } from '../sources/rows.ts';
import { commitMessage } from './commit-message.ts';
import type { Publisher } from './publisher.ts';

export type SyncDeps = {
  logger: Logger;
  /** Read the hub's rows (a RowSource behind it). */
  readRows: (hub: Hub) => Promise<HubRow[]>;
  /** Open the manifests repository named by the hub (or the --repo override). */
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  publisher: Publisher;
  bridgeVersion: string;
  /** Told when a hub enters a phase; the CLI shows it on a terminal. */
  onPhase?: (hub: string, phase: string) => void;
};

export type SyncOptions = { allowDeletions: boolean };

/**
 * How one hub's sync ended. `source-failed` and `git-failed` published nothing;
 * `published` may still hold failed or held-back nodes in its plan.
 */
export type HubSyncResult =
  | { hub: string; outcome: 'published' | 'unchanged'; plan: Plan; commit: string | undefined; attempts: number }
  | { hub: string; outcome: 'source-failed' | 'git-failed'; error: string };

/**
 * One hub, end to end: rows → render → diff against the remote head → one commit →
 * push. A push rejected because the remote moved is planned again on the new head
 * (rendering is not repeated), up to `publish.maxPushAttempts` times.
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
    if (!(error instanceof SourceError) && !isLynqError(error)) throw error;
    log.error({ err: messageOf(error) }, 'source failed; nothing changed');
    return { hub: hub.name, outcome: 'source-failed', error: messageOf(error) };
  }
  log.info({ rows: rows.length }, 'rows read');
  phase(`rendering ${rows.length} rows × ${forms.length} forms`);
  const rendered = renderHub(hub, forms, rows, { root, bridgeVersion: deps.bridgeVersion });
  const formNames = new Set(forms.map((form) => form.name));

  let repo: ManifestsRepo | undefined;
  try {
    repo = await deps.openRepo(hub);
    const { branch, maxPushAttempts, author } = hub.spec.publish;
    for (let attempt = 1; attempt <= maxPushAttempts; attempt++) {
      phase(attempt === 1 ? 'comparing with git' : `comparing with git (attempt ${attempt})`);
      const head = await repo.fetch(branch);
      const existing = await listPrefixes(repo, head, hubPrefixes(hub, root));
      const plan = await diffHub({ hub, root, formNames, rendered, existing, readBlobs: (ids) => repo!.readBlobs(ids), allowDeletions: options.allowDeletions });
      const changed = changedNodes(plan);
      if (changed.length === 0) return { hub: hub.name, outcome: 'unchanged', plan, commit: undefined, attempts: attempt };
      const message = commitMessage(hub.name, changed, plan.nodes);
      const result = await deps.publisher.publish({ repo, hub: hub.name, changes: fileChanges(changed), head, existing, branch, message, author });
      if (result.outcome === 'published') {
        log.info({ commit: result.commit, attempt }, 'published');
        return { hub: hub.name, outcome: 'published', plan, commit: result.commit, attempts: attempt };
      }
      log.warn({ attempt }, 'remote branch moved during the sync; planning again on the new head');
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

async function listPrefixes(repo: ManifestsRepo, head: string | undefined, prefixes: readonly string[]): Promise<TreeListing> {
  const listing: TreeListing = new Map();
  for (const prefix of prefixes) for (const [path, id] of await repo.listTree(head, prefix)) listing.set(path, id);
  return listing;
}
