import type { Hub } from '../config/load.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../logger.ts';
import { checkRoot } from '../render/paths.ts';
import { ANNOTATION_ROLLOUT_RESUMED, type RolloutHealth, type RolloutNodeHealth } from './types.ts';
import type { NodeMemo } from './node-memo.ts';
import { listLynqNodes } from './lynqnode-list.ts';
import {
  type ClusterRead,
  expectedEngineObjects,
  judgeHubHealth,
  readCluster,
  startClusterLists,
  type NodeHealth,
} from './read-back.ts';

export type RolloutHealthDeps = {
  kube: KubeClient;
  clock: () => number;
  logger: Logger;
  memo?: NodeMemo;
  /** List the hub's LynqNodes even when every node is Ready: the read is kept for the read-back after the sync, whose status writes need them. */
  listLynqNodes?: boolean;
};

/**
 * The rollout gate's view of a hub: each node's phase by the read-back's rules, seconds
 * since its last commit, and, for nodes not Ready, the resume marker on its LynqNode in
 * the cluster (the LynqNodes are listed while git is read; only when some node is not
 * Ready, unless `listLynqNodes`). Reads only; the sync's own repository and head, so
 * health and plan see the same commit. The read itself is returned too, for the
 * read-back after the sync to judge again (health/run.ts).
 */
export async function readRolloutHealth(
  hub: Hub,
  repo: ManifestsRepo,
  head: string | undefined,
  deps: RolloutHealthDeps,
): Promise<{ health: RolloutHealth; nodes: NodeHealth[]; read: ClusterRead }> {
  const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
  const expected = expectedEngineObjects(hub);
  const input = {
    hub: hub.name,
    prefix: `${root}/${hub.name}`,
    namespace: hub.namespace,
    repo,
    head,
    kube: deps.kube,
    clock: deps.clock,
    logger: deps.logger,
    memo: deps.memo,
  };
  const lists = startClusterLists(
    deps.kube,
    hub.name,
    expected,
    deps.listLynqNodes === true ? [hub.namespace] : undefined,
    deps.memo?.statuses,
  );
  let read = await readCluster({ ...input, lists });
  const nodes = judgeHubHealth(read, input).nodes;
  if (nodes.some((node) => node.phase !== 'Ready')) {
    const missing = [...new Set(nodes.map((node) => node.namespace))].filter(
      (namespace) => read.lynqNodes?.namespaces.has(namespace) !== true,
    );
    if (read.lynqNodes === undefined || missing.length > 0) {
      const more = await listLynqNodes(deps.kube, hub.name, missing, deps.memo?.statuses);
      read = {
        ...read,
        lynqNodes: {
          namespaces: new Set([...(read.lynqNodes?.namespaces ?? []), ...more.namespaces]),
          objects: new Map([...(read.lynqNodes?.objects ?? []), ...more.objects]),
          facts: new Map([...(read.lynqNodes?.facts ?? []), ...(more.facts ?? [])]),
        },
      };
    }
  }
  const now = deps.clock() / 1000;
  const health = new Map<string, RolloutNodeHealth>();
  for (const node of nodes) {
    health.set(`${node.form}/${node.uid}`, {
      phase: node.phase,
      reason: node.reason,
      sinceCommitSeconds: node.commit === undefined ? undefined : now - node.commit.time,
      resumedAt: read.lynqNodes?.objects.get(`${node.namespace}/${node.name}`)?.metadata?.annotations?.[
        ANNOTATION_ROLLOUT_RESUMED
      ],
    });
  }
  return { health, nodes, read };
}
