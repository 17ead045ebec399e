import type { Hub } from '../config/load.ts';
import { resolveGitops } from '../gitops/engine.ts';

/**
 * The repository folders a hub owns and a sync may change: its node folders, and its
 * folder of per-node Argo CD Applications or Flux Kustomizations. The apps folder is
 * listed whatever the engine, so a hub switched to `none` removes the files it left
 * there. Everything else in the repository is left alone, and is not even listed.
 */
export function hubPrefixes(hub: Hub, root: string): string[] {
  return [`${root}/${hub.name}`, `${resolveGitops(hub).appsRoot}/${hub.name}`];
}
