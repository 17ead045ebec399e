import type { Hub } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { toCanonicalYaml } from '../render/canonical-yaml.ts';
import { argoParentApplication } from './argocd.ts';
import { resolveGitops, withoutUndefined } from './engine.ts';
import { fluxParentObjects } from './flux.ts';
import { kubeConfigSecretOf, perClusterFlux } from './clusters.ts';
import type { ResolvedGitops } from './types.ts';
import { validateManifest } from '../config/k8s-schema.ts';

/**
 * The objects a user applies by hand, once per hub, so that the engine picks up every
 * node under `<appsRoot>/<hub>/`: an app-of-apps Application (Argo CD), or a parent
 * Kustomization and optionally its GitRepository (Flux). Returned as one YAML stream
 * with a comment saying what it is. With one Flux per cluster (`flux.layout:
 * per-cluster`), one root Kustomization per cluster, each to apply in its cluster, or
 * only `cluster`'s.
 */
export function bootstrapYaml(hub: Hub, cluster?: string): string {
  const gitops = resolveGitops(hub);
  if (gitops.engine === 'none') {
    throw new ConfigError("spec.gitops.engine is none, so nothing applies this hub's nodes: set it to argocd or flux", {
      hub: hub.name,
      file: hub.file,
      field: 'spec.gitops.engine',
    });
  }
  if (perClusterFlux(gitops)) return perClusterYaml(hub, gitops, cluster);
  if (cluster !== undefined) {
    throw new ConfigError(
      `--cluster ${cluster}: this hub has one control plane (${gitops.engine === 'argocd' ? 'Argo CD' : 'one Flux, flux.layout management'}), whose one parent serves every cluster; leave out --cluster, or set spec.gitops.flux.layout to per-cluster`,
      { hub: hub.name, file: hub.file },
    );
  }
  const objects = checked(
    hub,
    gitops.engine === 'argocd' ? [argoParentApplication(hub, gitops)] : fluxParentObjects(hub, gitops),
  );
  const engine = gitops.engine === 'argocd' ? 'Argo CD' : 'Flux';
  const header = `# Hub ${hub.name} (${engine}): apply once, e.g. \`lynq bootstrap --hub ${hub.name} | kubectl apply -f -\`;\n# it picks up every node file under ${gitops.appsRoot}/${hub.name}/.\n${clustersComment(gitops)}`;
  return header + objects.map((object) => toCanonicalYaml(object)).join('---\n');
}

/** The engine objects, without their unset fields, each checked against its schema. */
function checked(hub: Hub, built: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const objects = built.map((object) => withoutUndefined(object) as Record<string, unknown>);
  for (const object of objects) {
    const problem = validateManifest(object);
    if (problem !== undefined)
      throw new ConfigError(
        `the bootstrap ${String(object.kind)} does not validate: ${problem.path} ${problem.message}`,
        { hub: hub.name, file: hub.file },
      );
  }
  return objects;
}

/**
 * One Flux per cluster: each cluster's Flux reconciles `<appsRoot>/<hub>/<cluster>/`, so
 * each gets a root Kustomization of its own (and the GitRepository, when the hub describes
 * it), to apply in that cluster: all of them, each under a comment naming its cluster, or
 * only `only`'s (`--cluster`), ready to pipe into that cluster's kubectl.
 */
function perClusterYaml(hub: Hub, gitops: ResolvedGitops, only: string | undefined): string {
  const clusters = (gitops.clusters ?? []).map((cluster) => cluster.name);
  if (only !== undefined && !clusters.includes(only)) {
    throw new ConfigError(`--cluster ${only} is not one of spec.gitops.clusters (${clusters.join(', ')})`, {
      hub: hub.name,
      file: hub.file,
      field: 'spec.gitops.clusters',
    });
  }
  const parts = (only === undefined ? clusters : [only]).map((cluster) => {
    const objects = checked(hub, fluxParentObjects(hub, gitops, cluster));
    const header = `# Cluster ${cluster}: apply in that cluster, where its own Flux runs, e.g. \`lynq bootstrap --hub ${hub.name} --cluster ${cluster} | kubectl --context ${cluster} apply -f -\`;\n# it picks up the node files under ${gitops.appsRoot}/${hub.name}/${cluster}/.\n`;
    return header + objects.map((object) => toCanonicalYaml(object)).join('---\n');
  });
  const header = `# Hub ${hub.name} (Flux, one per cluster: flux.layout per-cluster): one root Kustomization per cluster, each applied in its own cluster.\n`;
  return header + parts.join('---\n');
}

/**
 * For a hub whose rows name clusters: what each cluster needs before its nodes can land.
 * One parent still does it all: the nodes' Applications (or Kustomizations) live in this
 * one control plane and reach out to their cluster, so there is nothing to apply per
 * cluster but its credentials, which the bridge never sees.
 */
function clustersComment(gitops: ResolvedGitops): string {
  if (gitops.clusters === undefined) return '';
  const lines =
    gitops.engine === 'argocd'
      ? gitops.clusters.map((cluster) =>
          cluster.server !== undefined
            ? `#   ${cluster.name}: destination.server ${cluster.server} (registered in Argo CD: argocd cluster add CONTEXT)`
            : `#   ${cluster.name}: destination.name ${cluster.name} (registered in Argo CD under that name: argocd cluster add CONTEXT --name ${cluster.name})`,
        )
      : gitops.clusters.map(
          (cluster) =>
            `#   ${cluster.name}: kubeConfig.secretRef ${kubeConfigSecretOf(cluster)} (a Secret in ${gitops.flux.namespace} holding the cluster's kubeconfig)`,
        );
  const where =
    gitops.engine === 'argocd'
      ? 'their Applications, all in this Argo CD, deploy to'
      : "their Kustomizations, all in this cluster's Flux, apply to";
  return `# Its rows name clusters: ${where}\n${lines.join('\n')}\n`;
}
