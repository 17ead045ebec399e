import { findClusterAccess } from '../kube/access.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import type { PausedLynqNodeReader } from '../sync/pauses.ts';

export type PauseWiringOptions = {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  /** A developer's ~/.kube/config counts (`lynq rollout`), or not (`lynq sync`, `lynq serve`). */
  useHomeConfig: boolean;
  logger: Logger;
  registry: SecretRegistry;
};

/**
 * `SyncDeps.pausedLynqNodes` from the cluster the command is given, or undefined when none
 * is configured (then a hub with `spec.gitops.pauseFromLynqNode` fails, named). Asked only
 * for such hubs: the Kubernetes client is opened on the first of them, so a sync of hubs
 * without the opt-in never loads it or sends a request. Every request has LYNQ_KUBE_TIMEOUT
 * and the run's signal.
 */
export function pausedLynqNodesFrom(options: PauseWiringOptions): PausedLynqNodeReader | undefined {
  const access = findClusterAccess({ kubeconfig: options.kubeconfig, context: options.context, env: options.env, useHomeConfig: options.useHomeConfig });
  if (access === undefined) return undefined;
  let kube: Promise<KubeClient> | undefined;
  return async (hub, signal) => {
    kube ??= import('../kube/client.ts').then(({ openKubeClient }) => openKubeClient(access, { registry: options.registry, logger: options.logger }));
    const { listPausedLynqNodes } = await import('../health/lynqnode-pauses.ts');
    return listPausedLynqNodes((await kube).withSignal(signal), hub.name, hub.namespace);
  };
}
