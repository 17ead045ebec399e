import type { Hub } from '../config/load.ts';
import { InternalError, messageOf } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { DeployReporter } from '../health/deploy-report.ts';
import type { NodeMemo } from '../health/node-memo.ts';
import type { HubReadBack, ReadBackContext, ReadBackDeps, StatusSink } from '../health/run.ts';
import type { ClusterRead, PullRequestRef } from '../health/read-back.ts';
import { type ClusterAccess, findClusterAccess } from '../kube/access.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import { changedNodes } from '../plan/types.ts';
import type { PauseFact } from '../health/types.ts';
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
  /** Deploy results to the forge (hubs with spec.publish.platform.reportDeploys). */
  reportDeploys?: DeployReporter;
};

/**
 * The sync's last step: for hubs with an engine, when a cluster is configured (flag,
 * KUBECONFIG, in-cluster: a developer's ~/.kube/config alone does not count), read
 * health back and write it. Runs after the hubs are published, and never changes how
 * they ended: a failure here is logged and reported, nothing more. The Kubernetes client
 * is loaded only when there is a cluster and a hub to read.
 */
export async function readBackAfterSync(
  hubs: readonly Hub[],
  results: readonly HubSyncResult[],
  options: SyncReadBackOptions,
): Promise<HubReadBack[]> {
  const wanted = hubs.filter(
    (hub, index) => resolveGitops(hub).engine !== 'none' && results[index] !== undefined && 'plan' in results[index]!,
  );
  if (wanted.length === 0) return [];
  const access = findClusterAccess({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: options.env,
    useHomeConfig: false,
  });
  if (access === undefined) return [];
  let kube: KubeClient;
  try {
    kube = await openKube(access, options);
  } catch (error) {
    options.logger.error({ err: messageOf(error) }, 'health read-back not started');
    return wanted.map((hub) => ({ hub: hub.name, outcome: 'cluster-failed', error: messageOf(error) }));
  }
  const { readBackHub } = await import('../health/run.ts');
  const out: HubReadBack[] = [];
  for (const hub of wanted) {
    const result = results[hubs.indexOf(hub)]!;
    // The run's own repository (closed, its clone still there) and the gate's read, when the sync handed them over.
    const handOff = 'handOff' in result ? result.handOff : undefined;
    const openRepo = handOff === undefined ? options.openRepo : async () => handOff.repo;
    out.push(
      await readBackHub(hub, readBackDeps(kube, { ...options, openRepo }), afterSyncContext(result, handOff?.gateRead)),
    );
  }
  return out;
}

/** What a sync's result tells its read-back: the pull request its nodes wait in, the conflicted and paused ones, what it pushed, the gate's read. */
function afterSyncContext(result: HubSyncResult, gateRead: ClusterRead | undefined): ReadBackContext {
  if (!('plan' in result)) return {};
  const proposal = 'proposal' in result ? result.proposal : undefined;
  const open = new Map<string, PullRequestRef>();
  if (
    proposal !== undefined &&
    proposal.pullRequest !== undefined &&
    proposal.pullRequest.number > 0 &&
    ['created', 'updated', 'unchanged'].includes(proposal.outcome)
  ) {
    for (const node of proposal.nodes)
      open.set(`${node.form}/${node.uid}`, { number: proposal.pullRequest.number, state: 'open' });
  }
  const conflicted = new Set(
    result.plan.nodes.filter((node) => node.status === 'conflicted').map((node) => `${node.form}/${node.uid}`),
  );
  const paused = new Map<string, PauseFact>(
    result.plan.nodes
      .filter((node) => node.status === 'paused')
      .map((node) => [`${node.form}/${node.uid}`, { why: node.reasons[0] ?? 'paused', by: node.pausedBy ?? 'row' }]),
  );
  const proposed = new Set(proposal?.nodes ?? []);
  const pushed =
    result.commit === undefined
      ? []
      : changedNodes(result.plan).filter((node) => !proposed.has(node) && node.status !== 'removed');
  const refresh = new Set(pushed.map((node) => `${node.form}/${node.uid}`));
  // The gate read at the head it planned on; the sync's commit, if any, is on top of that head. A sync that
  // had to plan again (the branch moved under it: another writer) reads afresh.
  const read = 'attempts' in result && result.attempts === 1 ? gateRead : undefined;
  const earlier = read === undefined ? undefined : { read, head: result.commit ?? read.head };
  const haltedBy = new Set(
    (result.plan.rollouts ?? [])
      .filter((rollout) => rollout.halted)
      .flatMap((rollout) => rollout.failed.map((uid) => `${rollout.form}/${uid}`)),
  );
  return { openPullRequests: open, conflicted, paused, haltedBy, refresh, earlier };
}

function readBackDeps(
  kube: KubeClient,
  options: Pick<SyncReadBackOptions, 'openRepo' | 'clock' | 'logger' | 'statusTable' | 'memo' | 'reportDeploys'>,
): ReadBackDeps {
  return {
    kube,
    openRepo: options.openRepo,
    clock: options.clock,
    logger: options.logger,
    statusTable: options.statusTable,
    memo: options.memo,
    reportDeploys: options.reportDeploys,
  };
}

async function openKube(
  access: ClusterAccess,
  options: Pick<SyncReadBackOptions, 'registry' | 'logger'>,
): Promise<KubeClient> {
  const { openKubeClient } = await import('../kube/client.ts');
  return openKubeClient(access, { registry: options.registry, logger: options.logger });
}

/** The read-back of a long-running service: one cluster client for its life, a hub at a time. */
export type ServiceReadBack = {
  /** Whether the hub is read back at all: it has an engine, and a cluster is configured. */
  wants(hub: Hub): boolean;
  /** Read one hub back, after a sync (its result) or on the service's own interval (none). */
  run(hub: Hub, after?: HubSyncResult): Promise<HubReadBack>;
};

/**
 * `lynq serve`'s read-back: as a sync's last step and on the service's own interval, for
 * hubs with an engine, when a cluster is configured (KUBECONFIG or in-cluster). The
 * Kubernetes client is loaded and opened on the first read-back, then kept; one that could
 * not be opened is tried again next time.
 */
export function serviceReadBack(options: SyncReadBackOptions): ServiceReadBack {
  const access = findClusterAccess({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: options.env,
    useHomeConfig: false,
  });
  let kube: Promise<KubeClient> | undefined;
  return {
    wants: (hub) => access !== undefined && resolveGitops(hub).engine !== 'none',
    async run(hub, after) {
      if (access === undefined) throw new InternalError('a read-back was asked for with no cluster configured');
      const opening = (kube ??= openKube(access, options));
      let client: KubeClient;
      try {
        client = await opening;
      } catch (error) {
        kube = undefined;
        return { hub: hub.name, outcome: 'cluster-failed', error: messageOf(error) };
      }
      const { readBackHub } = await import('../health/run.ts');
      return readBackHub(
        hub,
        readBackDeps(client, options),
        after === undefined ? {} : afterSyncContext(after, undefined),
      );
    },
  };
}
