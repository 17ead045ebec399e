import { findClusterAccess } from '../kube/access.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger, SecretRegistry } from '../logger.ts';

export type ClusterClientOptions = {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  /** A developer's ~/.kube/config counts (`lynq rollout`), or not (`lynq sync`, `lynq serve`, like their read-back). */
  useHomeConfig: boolean;
  logger: Logger;
  registry: SecretRegistry;
};

/** A command's cluster, opened on first use and then shared, or undefined when none is configured. */
export type LazyKubeClient = () => Promise<KubeClient>;

/**
 * The cluster the command is given (flag, KUBECONFIG, in-cluster), as one client that the
 * rollout gate, the pause annotations and `rollout resume` share. The Kubernetes library
 * is loaded and the client opened only when something first asks, so a command that never
 * needs the cluster never pays for it. Every request has LYNQ_KUBE_TIMEOUT; a run's signal
 * reaches its requests through `withSignal`.
 */
export function lazyKubeClient(options: ClusterClientOptions): LazyKubeClient | undefined {
  const access = findClusterAccess({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: options.env,
    useHomeConfig: options.useHomeConfig,
  });
  if (access === undefined) return undefined;
  let kube: Promise<KubeClient> | undefined;
  return () =>
    (kube ??= import('../kube/client.ts').then(({ openKubeClient }) =>
      openKubeClient(access, { registry: options.registry, logger: options.logger }),
    ));
}
