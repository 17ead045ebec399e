import { gitBlobId } from '../render/hash.ts';
import type { NodeFile, RenderedNode } from '../render/node.ts';

/**
 * How one node ends a sync. `held`: a removal held back by the deletion guard.
 * `conflicted`: a file was edited in Git and its resource's conflictPolicy is Stuck; that
 * file is left as is, the rest of the node is still written. `waiting`: a change the
 * form's rollout gate holds until a slot is free (sync/rollout-gate.ts); the node keeps
 * exactly what Git has. `paused`: the row's `valueMappings.paused` column is true, or (with
 * `spec.gitops.pauseFromLynqNode`) the node's LynqNode carries `lynq.sh/paused`; the node is
 * neither rendered nor removed, Git keeps it as it is.
 */
export type NodeStatus =
  | 'added'
  | 'updated'
  | 'unchanged'
  | 'removed'
  | 'held'
  | 'conflicted'
  | 'failed'
  | 'waiting'
  | 'paused';

/**
 * What made an existing node change, for code (routing) to act on; `reasons` says the
 * same to people. `edit`: files edited in Git were restored or overwritten. `engine`: the
 * node's engine object (Argo CD Application, Flux Kustomization) is removed while the node
 * stays (the hub's engine changed): a removal for the deletion guard and for routing.
 */
export type ChangeCause = 'row' | 'form' | 'hub' | 'bridge' | 'edit' | 'engine';

export type NodeChange = {
  hub: string;
  form: string;
  uid: string;
  status: NodeStatus;
  /** Why: "new row", "columns changed: plan", "form web changed", "row deactivated"… */
  reasons: readonly string[];
  /** For updated and conflicted nodes: what caused the change (empty otherwise; the status says it). */
  causes: readonly ChangeCause[];
  /** Resource ids whose files were written or removed. */
  resources: readonly string[];
  /**
   * For a change that removes what the engine applies (a removed or held node, or an engine
   * object removed): why, in words ("row deleted", "form web removed", "Argo CD Application
   * removed: spec.gitops.engine is none"). The deletion guard counts these.
   */
  removal?: string;
  /** For `failed`: the whole message, naming hub, form, uid and resource. */
  error?: string;
  /** The rendered node (added, updated, and unchanged when it had to be rendered to tell); once its files are stored ahead, without their contents. */
  node?: KeptNode;
  /** This node's changes to the repository: path → new content (or the blob, once git holds it), and paths to remove. */
  writes: ReadonlyMap<string, FileContent>;
  deletes: readonly string[];
  /**
   * Set on a change the plan told from the node's LynqNode without rendering it (its status,
   * causes and reasons say what the render would find): a change a paced form's rollout gate
   * holds, left for the gate, which renders it only when it gives it a slot and else makes it
   * `waiting` (sync/rollout-gate.ts). No node leaves the gate with it.
   */
  unrendered?: true;
  /** For `paused`: what paused it, the row's pause column or the LynqNode's annotation (its Paused condition's reason says which). */
  pausedBy?: 'row' | 'annotation';
};

/** Everything one sync of one hub would do to the repository, node by node. */
export type Plan = {
  hub: string;
  nodes: NodeChange[];
  /** How many nodes were rendered; the other unchanged ones were found intact in Git by their LynqNode's seal. */
  rendered: number;
  /** How many nodes Git had for the hub when the plan was made (what the deletion guard measures against). */
  existingNodes: number;
  /** Per form with `spec.rollout` and changes to pace: where its rollout stands (the rollout gate fills it). */
  rollouts?: RolloutProgress[];
};

/**
 * One form's rollout as a sync sees it. `done`: nodes on the form's current version and
 * Ready (without a cluster: on it); `inFlight`: on it, not Ready yet; `changing`: taken
 * by this sync; `waiting`: not on it and not taken; `failed`: on it and Degraded or past
 * the progress deadline (not resumed). `halted`: a failure stops further changes.
 */
export type RolloutProgress = {
  form: string;
  total: number;
  done: number;
  inFlight: number;
  changing: number;
  waiting: number;
  failed: string[];
  halted: boolean;
  /** Whether slots come from the read-back (a cluster), or per sync (none configured). */
  paced: 'health' | 'per-sync';
};

/**
 * What a change writes at a path: the content, or only its blob id once git holds that
 * blob (stored ahead of the commit while the sync renders, or already in the cache
 * clone), so a large first sync does not keep every file's text until the commit.
 */
export type FileContent = string | StoredBlob;
export type StoredBlob = { readonly blob: string };

/** The id of the blob a write names: its content's, or the one git holds. */
export function blobIdOf(file: FileContent): string {
  return typeof file === 'string' ? gitBlobId(file) : file.blob;
}

/** A file of a rendered node as a sync keeps it: without its content once git holds its blob. */
export type KeptFile = Omit<NodeFile, 'content'> & { content: string | undefined };

/** A rendered node as a sync keeps it (NodeChange.node, the render memo): RenderedNode, with the contents git holds dropped. */
export type KeptNode = Omit<RenderedNode, 'files' | 'appFile'> & {
  files: KeptFile[];
  appFile: { path: string; blob: string; content: string | undefined } | undefined;
};

/** The repository changes of some nodes, merged (a plan, or the part of one routed somewhere). */
export type FileChanges = { writes: Map<string, FileContent>; deletes: string[] };

export function fileChanges(nodes: readonly NodeChange[]): FileChanges {
  const writes = new Map<string, FileContent>();
  const deletes: string[] = [];
  for (const node of nodes) {
    for (const [path, content] of node.writes) writes.set(path, content);
    deletes.push(...node.deletes);
  }
  deletes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { writes, deletes };
}

/** What Git has under `<root>/<hub>/`: path → blob id. */
export type TreeListing = Map<string, string>;

export type BlobReader = (ids: readonly string[]) => Promise<Map<string, string>>;

export function changedNodes(plan: Plan): NodeChange[] {
  return plan.nodes.filter(
    (node) =>
      node.status === 'added' ||
      node.status === 'updated' ||
      node.status === 'removed' ||
      // A conflicted node's other files are still written.
      (node.status === 'conflicted' && (node.writes.size > 0 || node.deletes.length > 0)),
  );
}

export function countByStatus(nodes: readonly NodeChange[]): Record<NodeStatus, number> {
  const counts: Record<NodeStatus, number> = {
    added: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
    held: 0,
    conflicted: 0,
    failed: 0,
    waiting: 0,
    paused: 0,
  };
  for (const node of nodes) counts[node.status]++;
  return counts;
}
