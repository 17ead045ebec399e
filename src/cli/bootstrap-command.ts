import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { bootstrapYaml } from '../gitops/bootstrap.ts';
import type { Io } from './io.ts';
import { EXIT_OK } from './exit-codes.ts';
import { selectHubs } from './sync-command.ts';

/**
 * `lynq bootstrap [--hub NAME]`: the parent object(s) to apply once per hub (an
 * app-of-apps Application, or a parent Kustomization) on stdout, for every hub with an
 * engine, or for the one named (which must have one).
 */
export async function runBootstrap(options: { hubs: string; forms: string; hub?: string }, io: Io): Promise<number> {
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms });
  const hubs = selectHubs(config, options.hub).filter((hub) => options.hub !== undefined || resolveGitops(hub).engine !== 'none');
  if (hubs.length === 0) throw new ConfigError('no hub sets spec.gitops.engine to argocd or flux: nothing to bootstrap');
  io.out.write(hubs.map(bootstrapYaml).join('---\n'));
  return EXIT_OK;
}
