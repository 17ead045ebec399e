import type { Hub } from '../config/load.ts';
import { toDnsLabel } from '../render/names.ts';
import type { EngineNode, ResolvedGitops } from './types.ts';
import { inCluster } from './clusters.ts';
import { toArgoIgnorePath } from '../config/json-path.ts';

/** Cascading delete: removing the Application (its file) removes the node's workloads. */
export const ARGOCD_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * The node's Argo CD Application: its source is the node folder (a kustomization), its
 * name `<hub>-<form>-<uid>` (a DNS label, since Argo CD uses it as a label value), and it
 * carries the resources finalizer, so that when the parent app-of-apps prunes it (the
 * node's file is gone) Argo CD deletes what it deployed, except resources marked
 * `Delete=false` (deletionPolicy Retain). ignoreFields become ignoreDifferences, which a
 * sync respects through `RespectIgnoreDifferences=true`.
 */
export function argoApplication(gitops: ResolvedGitops, node: EngineNode): Record<string, unknown> {
  const settings = gitops.argocd;
  const ignoreDifferences = node.resources
    .filter((resource) => resource.ignoreFields.length > 0)
    .map((resource) => {
      const paths = resource.ignoreFields.map(toArgoIgnorePath);
      const pointers = paths.flatMap((item) => ('jsonPointer' in item ? [item.jsonPointer] : []));
      const jq = paths.flatMap((item) => ('jqPathExpression' in item ? [item.jqPathExpression] : []));
      const group = resource.apiVersion.includes('/')
        ? resource.apiVersion.slice(0, resource.apiVersion.indexOf('/'))
        : undefined;
      return {
        group,
        kind: resource.kind,
        name: resource.name,
        namespace: resource.namespace,
        jsonPointers: pointers.length > 0 ? pointers : undefined,
        jqPathExpressions: jq.length > 0 ? jq : undefined,
      };
    });
  const syncOptions = [...settings.syncPolicy.syncOptions];
  // Argo CD creates the destination namespace before applying the node (a form that names its namespace needs no Namespace resource).
  if (settings.createNamespace && !syncOptions.some((option) => option.startsWith('CreateNamespace=')))
    syncOptions.push('CreateNamespace=true');
  if (ignoreDifferences.length > 0 && !syncOptions.some((option) => option.startsWith('RespectIgnoreDifferences=')))
    syncOptions.push('RespectIgnoreDifferences=true');
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: toDnsLabel(inCluster(`${node.hub}-${node.form}-${node.uid}`, node.cluster)),
      namespace: settings.namespace,
      labels: node.labels,
      finalizers: [ARGOCD_RESOURCES_FINALIZER],
    },
    spec: {
      project: settings.project,
      source: { repoURL: settings.repoURL, targetRevision: settings.targetRevision, path: node.dir },
      destination: destination(gitops, node, settings.destination.namespace ?? gitops.namespace),
      syncPolicy: syncPolicy(gitops, syncOptions),
      ignoreDifferences: ignoreDifferences.length > 0 ? ignoreDifferences : undefined,
    },
  };
}

/**
 * The app-of-apps a user applies once per hub (`lynq bootstrap`): it syncs every file
 * under `<appsRoot>/<hub>/`, so node Applications appear and disappear with the nodes.
 * It has no resources finalizer on purpose: deleting this parent by mistake must not
 * delete every node's workloads.
 */
export function argoParentApplication(hub: Hub, gitops: ResolvedGitops): Record<string, unknown> {
  const settings = gitops.argocd;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: toDnsLabel(`lynq-${hub.name}`),
      namespace: settings.namespace,
      labels: { 'lynq.sh/hub': hub.name },
    },
    spec: {
      project: settings.project,
      source: {
        repoURL: settings.repoURL,
        targetRevision: settings.targetRevision,
        path: `${gitops.appsRoot}/${hub.name}`,
        directory: { recurse: true },
      },
      // The node Applications are created where Argo CD looks for Applications.
      destination: { server: IN_CLUSTER, namespace: settings.namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  };
}

/** The row's cluster (its server, else its name, as ApplicationSet's cluster generator fills them), else the hub's destination. */
function destination(gitops: ResolvedGitops, node: EngineNode, namespace: string): Record<string, string> {
  if (node.cluster !== undefined)
    return node.cluster.server !== undefined
      ? { server: node.cluster.server, namespace }
      : { name: node.cluster.name, namespace };
  const { server, name } = gitops.argocd.destination;
  return name !== undefined ? { name, namespace } : { server: server ?? IN_CLUSTER, namespace };
}

function syncPolicy(gitops: ResolvedGitops, syncOptions: string[]): Record<string, unknown> | undefined {
  const { automated, prune, selfHeal } = gitops.argocd.syncPolicy;
  const policy: Record<string, unknown> = {};
  if (automated) policy.automated = { prune, selfHeal };
  if (syncOptions.length > 0) policy.syncOptions = syncOptions;
  return Object.keys(policy).length > 0 ? policy : undefined;
}
