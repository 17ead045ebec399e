import { resolveGitops } from '../gitops/engine.ts';
import type { NodeMemo } from '../health/node-memo.ts';
import type { Logger } from '../logger.ts';
import type { SyncDeps } from '../sync/sync-hub.ts';
import type { LazyKubeClient } from './kube-wiring.ts';

export type RolloutWiringOptions = {
  logger: Logger;
  clock: () => number;
  memo?: NodeMemo;
  /** The read is kept for the read-back after the sync: list the LynqNodes in it even when every node is Ready. */
  listLynqNodes?: boolean;
};

/**
 * `SyncDeps.rolloutHealth` from the health read-back, or undefined when no cluster is
 * configured (then `maxSkew` paces per sync). The Kubernetes client is opened on the first
 * hub that needs it, so sync-hub stays free of Kubernetes imports and a sync with nothing
 * to pace never loads it. A hub without an engine has no health: it paces per sync.
 * A cluster that never answers fails the gate (cluster-failed) before anything is published.
 */
export function rolloutHealthFrom(
  kube: LazyKubeClient | undefined,
  options: RolloutWiringOptions,
): SyncDeps['rolloutHealth'] {
  if (kube === undefined) return undefined;
  return async (hub, repo, head, signal) => {
    if (resolveGitops(hub).engine === 'none') return undefined;
    const { readRolloutHealth } = await import('../health/rollout-health.ts');
    return readRolloutHealth(hub, repo, head, {
      kube: (await kube()).withSignal(signal),
      clock: options.clock,
      logger: options.logger,
      memo: options.memo,
      listLynqNodes: options.listLynqNodes,
    });
  };
}
