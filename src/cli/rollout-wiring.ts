import { resolveGitops } from '../gitops/engine.ts';
import type { NodeMemo } from '../health/node-memo.ts';
import { findClusterAccess } from '../kube/access.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import type { SyncDeps } from '../sync/sync-hub.ts';

export type RolloutWiringOptions = {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  /** A developer's ~/.kube/config counts (`lynq rollout`), or not (`lynq sync`, like its read-back). */
  useHomeConfig: boolean;
  logger: Logger;
  registry: SecretRegistry;
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
 * Every request has LYNQ_KUBE_TIMEOUT and the run's signal: a cluster that never answers
 * fails the gate (cluster-failed) before anything is published.
 */
export function rolloutHealthFrom(options: RolloutWiringOptions): SyncDeps['rolloutHealth'] {
  const access = findClusterAccess({ kubeconfig: options.kubeconfig, context: options.context, env: options.env, useHomeConfig: options.useHomeConfig });
  if (access === undefined) return undefined;
  let kube: Promise<KubeClient> | undefined;
  // The client (its connections) is shared by every run; each run's requests carry that run's signal.
  return async (hub, repo, head, signal) => {
    if (resolveGitops(hub).engine === 'none') return undefined;
    kube ??= import('../kube/client.ts').then(({ openKubeClient }) => openKubeClient(access, { registry: options.registry, logger: options.logger }));
    const { readRolloutHealth } = await import('../health/rollout-health.ts');
    return readRolloutHealth(hub, repo, head, {
      kube: (await kube).withSignal(signal),
      clock: options.clock,
      logger: options.logger,
      memo: options.memo,
      listLynqNodes: options.listLynqNodes,
    });
  };
}
