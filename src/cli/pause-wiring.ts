import type { PausedLynqNodeReader } from '../sync/pauses.ts';
import type { LazyKubeClient } from './kube-wiring.ts';

/**
 * `SyncDeps.pausedLynqNodes` from the command's cluster, or undefined when none is
 * configured (then a hub with `spec.gitops.pauseFromLynqNode` fails, named). Asked only
 * for such hubs: a sync of hubs without the opt-in never opens the client or sends a
 * request.
 */
export function pausedLynqNodesFrom(kube: LazyKubeClient | undefined): PausedLynqNodeReader | undefined {
  if (kube === undefined) return undefined;
  return async (hub, signal) => {
    const { listPausedLynqNodes } = await import('../health/lynqnode-pauses.ts');
    return listPausedLynqNodes((await kube()).withSignal(signal), hub.name, hub.namespace);
  };
}
