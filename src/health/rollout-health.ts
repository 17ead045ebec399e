import type { Hub } from '../config/load.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { KubeClient } from '../kube/client.ts';
import { hubSelector, LYNQ_NODE } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';
import { checkRoot } from '../render/paths.ts';
import { ANNOTATION_ROLLOUT_RESUMED, type RolloutHealth, type RolloutNodeHealth } from './types.ts';
import type { NodeMemo } from './node-memo.ts';
import { readHubHealth, type NodeHealth } from './read-back.ts';

export type RolloutHealthDeps = { kube: KubeClient; clock: () => number; logger: Logger; memo?: NodeMemo };

/**
 * The rollout gate's view of a hub: each node's phase by the read-back's rules, seconds
 * since its last commit, and, for nodes not Ready, the resume marker on its LynqNode in
 * the cluster (one more LIST, only when some node is not Ready). Reads only; the sync's
 * own repository and head, so health and plan see the same commit.
 */
export async function readRolloutHealth(hub: Hub, repo: ManifestsRepo, head: string | undefined, deps: RolloutHealthDeps): Promise<{ health: RolloutHealth; nodes: NodeHealth[] }> {
  const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
  const read = await readHubHealth({ hub: hub.name, prefix: `${root}/${hub.name}`, namespace: hub.namespace, repo, head, kube: deps.kube, clock: deps.clock, logger: deps.logger, memo: deps.memo });
  const resumed = new Map<string, string>();
  if (read.nodes.some((node) => node.phase !== 'Ready')) {
    for (const namespace of [...new Set(read.nodes.map((node) => node.namespace))].sort()) {
      const markers = await deps.kube.list(LYNQ_NODE, namespace, hubSelector(hub.name), (object) => ({
        key: `${object.metadata?.namespace ?? namespace}/${object.metadata?.name ?? ''}`,
        marker: object.metadata?.annotations?.[ANNOTATION_ROLLOUT_RESUMED],
      }));
      for (const { key, marker } of markers) if (marker !== undefined) resumed.set(key, marker);
    }
  }
  const now = deps.clock() / 1000;
  const health = new Map<string, RolloutNodeHealth>();
  for (const node of read.nodes) {
    health.set(`${node.form}/${node.uid}`, {
      phase: node.phase,
      reason: node.reason,
      sinceCommitSeconds: node.commit === undefined ? undefined : now - node.commit.time,
      resumedAt: resumed.get(`${node.namespace}/${node.name}`),
    });
  }
  return { health, nodes: read.nodes };
}
