import type { Hub } from '../config/load.ts';
import { toCanonicalYaml } from '../render/canonical-yaml.ts';
import { toDnsLabel } from '../render/names.ts';
import type { EngineNode, EngineResource, ResolvedGitops } from './types.ts';
import { inCluster, kubeConfigSecretOf, perClusterFlux } from './clusters.ts';

/** Per-level folders inside the node folder, for Flux only: `levels/<n>/kustomization.yaml`. */
export const LEVELS_DIR = 'levels';

/**
 * The node's Flux Kustomization(s). A node whose dependIds DAG has one level is one
 * Kustomization of the node folder. A node with more levels is one Kustomization per
 * level, each of a folder `levels/<n>/` whose kustomization.yaml lists that level's
 * files as `../../<id>.yaml` (kustomize-controller builds with LoadRestrictionsNone
 * inside the source, so files above the kustomization root load), chained with
 * `dependsOn`, so Flux waits for one level to be healthy before applying the next, as
 * Argo CD does between sync waves. Level 0 keeps the node's plain name, so a form that
 * gains levels renames nothing that already runs.
 *
 * waitForReady: `wait: true` when every resource of the level waits; otherwise
 * `wait: false` with `healthChecks` for those that do. timeoutSeconds: the level's longest,
 * unless the hub sets `timeout`. Removal: the parent Kustomization prunes these objects,
 * and each prunes what it applied (`prune: true`), except resources annotated
 * `kustomize.toolkit.fluxcd.io/prune: disabled` (deletionPolicy Retain).
 */
export function fluxKustomizations(
  gitops: ResolvedGitops,
  node: EngineNode,
): { objects: Array<Record<string, unknown>>; nodeFiles: Array<{ name: string; content: string }> } {
  const levels = [...new Set(node.resources.map((resource) => resource.level))].sort((a, b) => a - b);
  const base = inCluster(`${node.hub}-${node.form}-${node.uid}`, node.cluster);
  if (levels.length <= 1) {
    return {
      objects: [kustomization(gitops, node, toDnsLabel(base), `./${node.dir}`, node.resources, undefined)],
      nodeFiles: [],
    };
  }
  const objects: Array<Record<string, unknown>> = [];
  const nodeFiles: Array<{ name: string; content: string }> = [];
  let previous: string | undefined;
  levels.forEach((level, index) => {
    const resources = node.resources.filter((resource) => resource.level === level);
    const files = resources.map((resource) => `../../${resource.file}`);
    // The LynqNode goes with the first level, so it exists as soon as anything does.
    if (index === 0) files.push('../../lynqnode.yaml');
    nodeFiles.push({
      name: `${LEVELS_DIR}/${level}/kustomization.yaml`,
      content: toCanonicalYaml({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: files,
      }),
    });
    const name = toDnsLabel(index === 0 ? base : `${base}-level-${level}`);
    objects.push(kustomization(gitops, node, name, `./${node.dir}/${LEVELS_DIR}/${level}`, resources, previous));
    previous = name;
  });
  return { objects, nodeFiles };
}

function kustomization(
  gitops: ResolvedGitops,
  node: EngineNode,
  name: string,
  path: string,
  resources: readonly EngineResource[],
  dependsOn: string | undefined,
): Record<string, unknown> {
  const settings = gitops.flux;
  const waiting = resources.filter((resource) => resource.waitForReady);
  const waitAll = settings.wait && waiting.length === resources.length;
  const healthChecks =
    settings.wait && !waitAll && waiting.length > 0
      ? waiting.map((resource) => ({
          apiVersion: resource.apiVersion,
          kind: resource.kind,
          name: resource.name,
          namespace: resource.namespace,
        }))
      : undefined;
  const longest = Math.max(...resources.map((resource) => resource.timeoutSeconds));
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: settings.namespace, labels: node.labels },
    spec: {
      interval: settings.interval,
      retryInterval: settings.retryInterval,
      path,
      prune: settings.prune,
      sourceRef: { kind: 'GitRepository', name: settings.sourceRef.name, namespace: settings.sourceRef.namespace },
      dependsOn: dependsOn === undefined ? undefined : [{ name: dependsOn }],
      wait: waitAll,
      healthChecks,
      timeout: settings.timeout ?? duration(longest),
      serviceAccountName: settings.serviceAccountName,
      targetNamespace: settings.targetNamespace,
      decryption: settings.decryption,
      // The row's cluster, reached from this (management) cluster's Flux through its kubeconfig; with
      // one Flux per cluster, the Kustomization lives in the cluster it applies to and needs none.
      kubeConfig:
        node.cluster === undefined || perClusterFlux(gitops)
          ? undefined
          : { secretRef: { name: kubeConfigSecretOf(node.cluster) } },
    },
  };
}

/**
 * What a user applies once per hub (`lynq bootstrap`): a Kustomization of
 * `<appsRoot>/<hub>/` (no kustomization.yaml there: Flux generates one from every file),
 * with prune, so node Kustomizations appear and disappear with the nodes; and, when the
 * hub describes it, the GitRepository they all read. With one Flux per cluster, the same
 * per `cluster`, of `<appsRoot>/<hub>/<cluster>/`, applied in that cluster.
 */
export function fluxParentObjects(hub: Hub, gitops: ResolvedGitops, cluster?: string): Array<Record<string, unknown>> {
  const settings = gitops.flux;
  const objects: Array<Record<string, unknown>> = [];
  if (settings.gitRepository !== undefined) {
    const url = settings.gitRepository.url ?? hub.spec.publish.repo;
    objects.push({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: settings.sourceRef.name, namespace: settings.sourceRef.namespace ?? settings.namespace },
      spec: {
        interval: settings.gitRepository.interval,
        url,
        ref: { branch: hub.spec.publish.branch },
        secretRef: settings.gitRepository.secretRef,
      },
    });
  }
  // One Flux per cluster (`cluster` given): each cluster's root reconciles its own path only.
  objects.push({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: {
      name: toDnsLabel(cluster === undefined ? `lynq-${hub.name}` : `lynq-${hub.name}-${cluster}`),
      namespace: settings.namespace,
      labels:
        cluster === undefined ? { 'lynq.sh/hub': hub.name } : { 'lynq.sh/hub': hub.name, 'lynq.sh/cluster': cluster },
    },
    spec: {
      interval: settings.interval,
      path: cluster === undefined ? `./${gitops.appsRoot}/${hub.name}` : `./${gitops.appsRoot}/${hub.name}/${cluster}`,
      prune: true,
      sourceRef: { kind: 'GitRepository', name: settings.sourceRef.name, namespace: settings.sourceRef.namespace },
    },
  });
  return objects;
}

/** A Go duration for a number of seconds, as Flux writes them: 90 → `1m30s`, 3600 → `1h`. */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 || seconds === 0 ? `${s}s` : ''}`;
}
