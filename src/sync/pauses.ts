import type { Hub } from '../config/load.ts';
import { KubeError } from '../errors.ts';
import type { PausedLynqNode } from '../health/lynqnode-pauses.ts';
import { ANNOTATION_PAUSED } from '../health/types.ts';

/** Lists a hub's LynqNodes that carry the pause annotation, by name (the cluster's side, built from the kube client by the CLI). */
export type PausedLynqNodeReader = (hub: Hub, signal?: AbortSignal) => Promise<ReadonlyMap<string, PausedLynqNode>>;

/**
 * For a hub with `spec.gitops.pauseFromLynqNode`: which nodes their LynqNode pauses, by
 * LynqNode name → why (the words the plan, the Paused condition and `lynq status` use).
 * Undefined for a hub without it, which asks the cluster nothing. Without a cluster to ask,
 * or when the LIST fails, the hub fails (a KubeError: cluster-failed) before anything is
 * planned: syncing a node someone paused because the cluster could not be read is the one
 * thing the opt-in promises not to do.
 */
export async function readPausedNodes(
  hub: Hub,
  reader: PausedLynqNodeReader | undefined,
  signal?: AbortSignal,
): Promise<ReadonlyMap<string, string> | undefined> {
  if (hub.spec.gitops.pauseFromLynqNode !== true) return undefined;
  if (reader === undefined) {
    throw new KubeError(
      `spec.gitops.pauseFromLynqNode is true, but no cluster is configured to read the LynqNodes' ${ANNOTATION_PAUSED} annotations from: pass --kubeconfig, set KUBECONFIG or run in the cluster, or set pauseFromLynqNode to false; nothing was synced`,
      { hub: hub.name, file: hub.file, field: 'spec.gitops.pauseFromLynqNode' },
    );
  }
  let listed: ReadonlyMap<string, PausedLynqNode>;
  try {
    listed = await reader(hub, signal);
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    throw new KubeError(
      `spec.gitops.pauseFromLynqNode: cannot list the hub's LynqNodes to see which are paused (${error.message}); nothing was synced, so no paused node is changed; fix access to the cluster or set pauseFromLynqNode to false`,
      { hub: hub.name, field: 'spec.gitops.pauseFromLynqNode' },
      { cause: error },
    );
  }
  const why = new Map<string, string>();
  for (const [name, node] of listed) {
    const reason = node.reason === undefined ? '' : ` (${JSON.stringify(node.reason)})`;
    why.set(
      name,
      `paused by annotation ${ANNOTATION_PAUSED} on LynqNode ${node.namespace}/${name}${reason}: left as it is in Git`,
    );
  }
  return why;
}
