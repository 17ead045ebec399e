import type { Hub } from '../config/load.ts';
import { perClusterFlux } from '../gitops/clusters.ts';
import { appFilePath, resolveGitops } from '../gitops/engine.ts';

/**
 * The repository folders a hub owns and a sync may change: its node folders, and its
 * folder of per-node Argo CD Applications or Flux Kustomizations. The apps folder is
 * listed whatever the engine, so a hub switched to `none` removes the files it left
 * there. Everything else in the repository is left alone, and is not even listed.
 */
export function hubPrefixes(hub: Hub, root: string): [nodes: string, apps: string] {
  return [`${root}/${hub.name}`, `${resolveGitops(hub).appsRoot}/${hub.name}`];
}

/**
 * The repository paths of one node, for `lynq history`: its folder and its engine-object
 * file (whatever the engine is now, so the history of an earlier engine shows too), and,
 * for Flux with one instance per cluster, that file in each cluster's path (a node that
 * moved was in several).
 */
export function nodePaths(hub: Hub, root: string, form: string, uid: string): string[] {
  const gitops = resolveGitops(hub);
  const perCluster = perClusterFlux(gitops)
    ? (gitops.clusters ?? []).map((cluster) => appFilePath(gitops, hub.name, form, uid, cluster.name))
    : [];
  return [`${root}/${hub.name}/${form}/${uid}`, appFilePath(gitops, hub.name, form, uid), ...perCluster];
}
