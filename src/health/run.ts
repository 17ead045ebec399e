import type { Hub } from '../config/load.ts';
import { isLynqError, KubeError, messageOf } from '../errors.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../logger.ts';
import { checkRoot } from '../render/paths.ts';
import type { NodeMemo } from './node-memo.ts';
import { nudgeEngines } from './refresh.ts';
import { writeLynqNodeStatuses, type StatusWriteResult } from './lynqnode-status.ts';
import { readHubHealth, type NodeHealth, type PullRequestRef } from './read-back.ts';

/** Where a hub's health goes besides the LynqNodes: the hub's status table (spec.statusWriteback). */
export type StatusSink = (hub: Hub, nodes: readonly NodeHealth[]) => Promise<{ upserted: number; deleted: number }>;

export type ReadBackDeps = {
  kube: KubeClient;
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  /** The status table writer; only called for hubs with spec.statusWriteback. */
  statusTable?: StatusSink;
  clock: () => number;
  logger: Logger;
  /** LynqNodes parsed by earlier runs (the cache folder); saves parsing every one each time. */
  memo?: NodeMemo;
};

export type ReadBackContext = {
  /** Pull requests the sync just proposed, by `<form>/<uid>`. */
  openPullRequests?: ReadonlyMap<string, PullRequestRef>;
  /** Nodes the sync found conflicted, as `<form>/<uid>`; undefined: not known (keep what the status says). */
  conflicted?: ReadonlySet<string>;
  /** Nodes just pushed (`<form>/<uid>`), whose engine objects are nudged when spec.gitops.refresh is on. */
  refresh?: ReadonlySet<string>;
};

/**
 * How one hub's read-back ended. `cluster-failed`: the API could not be read (nothing
 * written); `failed`: git or the status table failed after the cluster was read (what was
 * written stays). Per-node status write failures are in `statuses.failed`.
 */
export type HubReadBack =
  | {
      hub: string;
      outcome: 'read';
      nodes: NodeHealth[];
      unreadable: string[];
      statuses: StatusWriteResult;
      table?: { upserted: number; deleted: number };
      tableError?: string;
      listRequests: number;
      nudged?: { nudged: number; skipped: number; failed: string[] };
    }
  | { hub: string; outcome: 'cluster-failed' | 'failed'; error: string };

/** Read one hub's health back and write it to its LynqNodes and status table. */
export async function readBackHub(hub: Hub, deps: ReadBackDeps, context: ReadBackContext = {}): Promise<HubReadBack> {
  const log = deps.logger.child({ hub: hub.name });
  let repo: ManifestsRepo | undefined;
  try {
    const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
    repo = await deps.openRepo(hub);
    const head = await repo.fetch(hub.spec.publish.branch);
    const health = await readHubHealth({
      hub: hub.name,
      prefix: `${root}/${hub.name}`,
      namespace: hub.namespace,
      repo,
      head,
      kube: deps.kube,
      clock: deps.clock,
      logger: log,
      openPullRequests: context.openPullRequests,
      memo: deps.memo,
    });
    const statuses = await writeLynqNodeStatuses(deps.kube, hub.name, health.nodes, { clock: deps.clock, logger: log, conflicted: context.conflicted });
    const result: HubReadBack = { hub: hub.name, outcome: 'read', nodes: health.nodes, unreadable: health.unreadable, statuses, listRequests: health.requests.list + statuses.requests.list };
    if (hub.spec.gitops.refresh && context.refresh !== undefined && context.refresh.size > 0) {
      const objects = health.nodes.filter((node) => context.refresh!.has(`${node.form}/${node.uid}`)).flatMap((node) => node.engineObjects);
      result.nudged = await nudgeEngines(deps.kube, objects, { clock: deps.clock, logger: log });
    }
    if (hub.spec.statusWriteback !== undefined && deps.statusTable !== undefined) {
      try {
        result.table = await deps.statusTable(hub, health.nodes);
      } catch (error) {
        if (!isLynqError(error)) throw error;
        log.error({ err: messageOf(error) }, 'status table not written');
        result.tableError = messageOf(error);
      }
    }
    return result;
  } catch (error) {
    if (!isLynqError(error)) throw error;
    const outcome = error instanceof KubeError ? 'cluster-failed' : 'failed';
    log.error({ err: messageOf(error) }, 'health read-back failed');
    return { hub: hub.name, outcome, error: messageOf(error) };
  } finally {
    await repo?.close();
  }
}
