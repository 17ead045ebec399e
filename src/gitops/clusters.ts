import type { GitopsCluster } from '../config/gitops-schema.ts';
import { RenderError, type ErrorWhere } from '../errors.ts';
import type { ResolvedGitops } from './types.ts';

/**
 * The cluster a node goes to, from its row's cluster column (`valueMappings.cluster`,
 * already the hub's `defaultCluster` when the column was empty): undefined for a hub
 * without the column (its settings' destination, as before). A value that is not one of
 * `spec.gitops.clusters` fails the node, naming the value and the fix; what Git has for
 * the node is kept.
 */
export function nodeCluster(
  gitops: Pick<ResolvedGitops, 'clusters'>,
  value: string | undefined,
  where: ErrorWhere,
): GitopsCluster | undefined {
  if (gitops.clusters === undefined) return undefined;
  const names = gitops.clusters.map((cluster) => cluster.name).join(', ');
  if (value === undefined || value === '') {
    throw new RenderError(
      `the row names no cluster (its cluster column is empty) and the hub has no spec.gitops.defaultCluster: set the row's cluster to one of ${names}, or set spec.gitops.defaultCluster`,
      {
        ...where,
        field: 'spec.valueMappings.cluster',
      },
    );
  }
  const cluster = gitops.clusters.find((known) => known.name === value);
  if (cluster === undefined) {
    throw new RenderError(
      `the row's cluster ${JSON.stringify(value)} is not one of spec.gitops.clusters (${names}): fix the row, or add the cluster to spec.gitops.clusters`,
      {
        ...where,
        field: 'spec.valueMappings.cluster',
      },
    );
  }
  return cluster;
}

/** The Flux kubeconfig Secret of a cluster: `<name>-kubeconfig` unless the hub names it. */
export function kubeConfigSecretOf(cluster: GitopsCluster): string {
  return cluster.kubeConfigSecret ?? `${cluster.name}-kubeconfig`;
}

/** An engine object's name for a node in a cluster: the cluster is part of it, so a node that moves gets a new object and the old one is pruned (deleting what it applied) rather than re-pointed. */
export function inCluster(name: string, cluster: GitopsCluster | undefined): string {
  return cluster === undefined ? name : `${name}-${cluster.name}`;
}

/** Flux with one instance per cluster, each reconciling its own path (`flux.layout: per-cluster`). */
export function perClusterFlux(gitops: Pick<ResolvedGitops, 'engine' | 'flux'>): boolean {
  return gitops.engine === 'flux' && gitops.flux.layout === 'per-cluster';
}
