import type { ArgoCdSettings, FluxSettings, GitopsCluster, GitopsEngine } from '../config/gitops-schema.ts';
import type { RenderedResource } from '../render/node.ts';

/** A hub's `spec.gitops` with every default filled in from the rest of the hub, once per hub. */
export type ResolvedGitops = {
  engine: GitopsEngine;
  /** Normalised, without a trailing slash. */
  appsRoot: string;
  /** The hub's default namespace (the Argo CD destination namespace unless set). */
  namespace: string;
  argocd: ArgoCdSettings & { repoURL: string; targetRevision: string };
  flux: FluxSettings;
  /** `spec.gitops.clusters`: set when rows name their node's cluster (`valueMappings.cluster`). */
  clusters: GitopsCluster[] | undefined;
  /** Hash of everything above: part of each node's input hash, so a settings change says so. */
  hash: string;
};

/** A rendered resource with the policies the engine objects need. */
export type EngineResource = Pick<
  RenderedResource,
  'id' | 'apiVersion' | 'kind' | 'name' | 'namespace' | 'file' | 'level'
> & {
  waitForReady: boolean;
  timeoutSeconds: number;
  ignoreFields: readonly string[];
};

export type EngineNode = {
  hub: string;
  form: string;
  uid: string;
  /** `<root>/<hub>/<form>/<uid>` */
  dir: string;
  /** The form's hash: engine objects are schema-checked once per form content (not name) and hub settings. */
  formHash: string;
  /** The `lynq.sh/*` labels of the node's resources. */
  labels: Record<string, string>;
  resources: readonly EngineResource[];
  /** The row's cluster, for a hub whose rows name one; else the hub's destination. */
  cluster?: GitopsCluster;
};

/** An object the engine applies for a node, as recorded in the LynqNode (health read-back finds it by this). */
export type EngineObjectRef = { apiVersion: string; kind: string; name: string; namespace: string };

export type EngineFiles = {
  /** `<appsRoot>/<hub>/<form>/<uid>.yaml`, or undefined for engine `none`. */
  appFile: { path: string; content: string } | undefined;
  /** More files in the node folder (Flux: one kustomization per DAG level). */
  nodeFiles: Array<{ name: string; content: string }>;
  objects: EngineObjectRef[];
};
