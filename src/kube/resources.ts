/** A custom resource kind the bridge reads or writes: where it lives in the API. */
export type KubeResource = { group: string; version: string; plural: string; kind: string };

export const ARGO_APPLICATION: KubeResource = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'applications',
  kind: 'Application',
};
export const FLUX_KUSTOMIZATION: KubeResource = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};
/** events.k8s.io/v1: what `kubectl get events` and `kubectl describe` show (served through CustomObjectsApi's generic paths). */
export const EVENT: KubeResource = { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event' };
export const LYNQ_NODE: KubeResource = {
  group: 'operator.lynq.sh',
  version: 'v1',
  plural: 'lynqnodes',
  kind: 'LynqNode',
};
/** Cluster-scoped: read once by `lynq status`, to tell the bridge's LynqNode CRD from the Lynq operator's. */
export const CUSTOM_RESOURCE_DEFINITION: KubeResource = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  kind: 'CustomResourceDefinition',
};

/** Objects as the API returns them: read through the health readers, never trusted to have a shape. */
export type KubeObject = Record<string, unknown> & {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
};

/** The label every object of a node carries; one LIST per kind selects a hub's objects by it. */
export function hubSelector(hub: string): string {
  return `lynq.sh/hub=${hub}`;
}
