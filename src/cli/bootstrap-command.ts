import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { perClusterFlux } from '../gitops/clusters.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { bootstrapYaml } from '../gitops/bootstrap.ts';
import type { Io } from './io.ts';
import { EXIT_OK } from './exit-codes.ts';
import { selectHubs } from './sync-command.ts';

/**
 * `lynq bootstrap [--hub NAME] [--cluster NAME]`: the parent object(s) to apply once per
 * hub (an app-of-apps Application, or a parent Kustomization; one per cluster for Flux
 * with `flux.layout: per-cluster`) on stdout, for every hub with an engine, or for the one
 * named (which must have one). `--cluster`: only that cluster's part, of the hubs with one
 * Flux per cluster that list it.
 */
export async function runBootstrap(
  options: { hubs: string; forms: string; hub?: string; cluster?: string },
  io: Io,
): Promise<number> {
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms });
  let hubs = selectHubs(config, options.hub).filter(
    (hub) => options.hub !== undefined || resolveGitops(hub).engine !== 'none',
  );
  if (hubs.length === 0)
    throw new ConfigError('no hub sets spec.gitops.engine to argocd or flux: nothing to bootstrap');
  const cluster = options.cluster;
  if (cluster !== undefined && options.hub === undefined) {
    hubs = hubs.filter(
      (hub) =>
        perClusterFlux(resolveGitops(hub)) &&
        (resolveGitops(hub).clusters ?? []).some((known) => known.name === cluster),
    );
    if (hubs.length === 0)
      throw new ConfigError(
        `--cluster ${cluster}: no hub with spec.gitops.flux.layout per-cluster lists that cluster in spec.gitops.clusters`,
      );
  }
  io.out.write(hubs.map((hub) => bootstrapYaml(hub, cluster)).join('---\n'));
  return EXIT_OK;
}
