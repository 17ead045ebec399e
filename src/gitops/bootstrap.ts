import type { Hub } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { toCanonicalYaml } from '../render/canonical-yaml.ts';
import { argoParentApplication } from './argocd.ts';
import { resolveGitops, withoutUndefined } from './engine.ts';
import { fluxParentObjects } from './flux.ts';
import { validateManifest } from '../config/k8s-schema.ts';

/**
 * The objects a user applies by hand, once per hub, so that the engine picks up every
 * node under `<appsRoot>/<hub>/`: an app-of-apps Application (Argo CD), or a parent
 * Kustomization and optionally its GitRepository (Flux). Returned as one YAML stream
 * with a comment saying what it is.
 */
export function bootstrapYaml(hub: Hub): string {
  const gitops = resolveGitops(hub);
  if (gitops.engine === 'none') {
    throw new ConfigError("spec.gitops.engine is none, so nothing applies this hub's nodes: set it to argocd or flux", { hub: hub.name, file: hub.file, field: 'spec.gitops.engine' });
  }
  const objects = (gitops.engine === 'argocd' ? [argoParentApplication(hub, gitops)] : fluxParentObjects(hub, gitops)).map((object) => withoutUndefined(object) as Record<string, unknown>);
  for (const object of objects) {
    const problem = validateManifest(object);
    if (problem !== undefined) throw new ConfigError(`the bootstrap ${String(object.kind)} does not validate: ${problem.path} ${problem.message}`, { hub: hub.name, file: hub.file });
  }
  const engine = gitops.engine === 'argocd' ? 'Argo CD' : 'Flux';
  const header = `# Hub ${hub.name} (${engine}): apply once, e.g. \`lynq bootstrap --hub ${hub.name} | kubectl apply -f -\`;\n# it picks up every node file under ${gitops.appsRoot}/${hub.name}/.\n`;
  return header + objects.map((object) => toCanonicalYaml(object)).join('---\n');
}
