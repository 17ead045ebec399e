import type { Hub } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { NodeMemo } from '../health/node-memo.ts';
import type { HubReadBack, StatusSink } from '../health/run.ts';
import type { ClusterRead, PullRequestRef } from '../health/read-back.ts';
import { findClusterAccess } from '../kube/access.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import { changedNodes } from '../plan/types.ts';
import type { HubSyncResult } from './sync-hub.ts';

export type SyncReadBackOptions = {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  registry: SecretRegistry;
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  statusTable?: StatusSink;
  clock: () => number;
  memo?: NodeMemo;
  /** The rollout gate's read of a hub in this sync, if it read one (judged again instead of a second read: health/run.ts). */
  earlier?: (hub: Hub) => ClusterRead | undefined;
};

/**
 * The sync's last step: for hubs with an engine, when a cluster is configured (flag,
 * KUBECONFIG, in-cluster: a developer's ~/.kube/config alone does not count), read
 * health back and write it. Runs after the hubs are published, and never changes how
 * they ended: a failure here is logged and reported, nothing more. The Kubernetes client
 * is loaded only when there is a cluster and a hub to read.
 */
export async function readBackAfterSync(hubs: readonly Hub[], results: readonly HubSyncResult[], options: SyncReadBackOptions): Promise<HubReadBack[]> {
  const wanted = hubs.filter((hub, index) => resolveGitops(hub).engine !== 'none' && results[index] !== undefined && 'plan' in results[index]!);
  if (wanted.length === 0) return [];
  const access = findClusterAccess({ kubeconfig: options.kubeconfig, context: options.context, env: options.env, useHomeConfig: false });
  if (access === undefined) return [];
  const out: HubReadBack[] = [];
  let kube: Awaited<ReturnType<typeof import('../kube/client.ts')['openKubeClient']>>;
  try {
    const { openKubeClient } = await import('../kube/client.ts');
    kube = await openKubeClient(access, { registry: options.registry, logger: options.logger });
  } catch (error) {
    options.logger.error({ err: messageOf(error) }, 'health read-back not started');
    return wanted.map((hub) => ({ hub: hub.name, outcome: 'cluster-failed', error: messageOf(error) }));
  }
  const { readBackHub } = await import('../health/run.ts');
  for (const hub of wanted) {
    const result = results[hubs.indexOf(hub)]!;
    if (!('plan' in result)) continue;
    const proposal = 'proposal' in result ? result.proposal : undefined;
    const open = new Map<string, PullRequestRef>();
    if (proposal !== undefined && proposal.pullRequest !== undefined && proposal.pullRequest.number > 0 && ['created', 'updated', 'unchanged'].includes(proposal.outcome)) {
      for (const node of proposal.nodes) open.set(`${node.form}/${node.uid}`, { number: proposal.pullRequest.number, state: 'open' });
    }
    const conflicted = new Set(result.plan.nodes.filter((node) => node.status === 'conflicted').map((node) => `${node.form}/${node.uid}`));
    const proposed = new Set(proposal?.nodes ?? []);
    const pushed = result.commit === undefined ? [] : changedNodes(result.plan).filter((node) => !proposed.has(node) && node.status !== 'removed');
    const refresh = new Set(pushed.map((node) => `${node.form}/${node.uid}`));
    // The gate read at the head it planned on; the sync's commit, if any, is on top of that head. A sync that
    // had to plan again (the branch moved under it: another writer) reads afresh.
    const read = 'attempts' in result && result.attempts === 1 ? options.earlier?.(hub) : undefined;
    const earlier = read === undefined ? undefined : { read, head: result.commit ?? read.head };
    out.push(
      await readBackHub(
        hub,
        { kube, openRepo: options.openRepo, clock: options.clock, logger: options.logger, statusTable: options.statusTable, memo: options.memo },
        { openPullRequests: open, conflicted, refresh, earlier },
      ),
    );
  }
  return out;
}
