import { parse } from 'yaml';
import type { Hub } from '../config/load.ts';
import { LynqNodeFile } from '../config/node-schema.ts';
import { compareStrings } from '../render/canonical-yaml.ts';
import { gitBlobId } from '../render/hash.ts';
import { ANNOTATION_BRIDGE_VERSION, ANNOTATION_FORM_HASH, KUSTOMIZATION_FILE, LYNQNODE_FILE, type RenderedNode } from '../render/node.ts';
import { parseNodePath } from '../render/paths.ts';
import type { RenderedHub } from './render-hub.ts';
import type { BlobReader, NodeChange, Plan, TreeListing } from './types.ts';

export type DiffOptions = {
  hub: Hub;
  root: string;
  /** Forms of this hub that exist now; a node folder of another form is removed. */
  formNames: ReadonlySet<string>;
  rendered: RenderedHub;
  existing: TreeListing;
  readBlobs: BlobReader;
  allowDeletions: boolean;
};

type ExistingNode = { form: string; uid: string; files: Map<string, string> };

/**
 * Compare what was rendered with what Git has, byte for byte (by blob id, so unchanged
 * nodes cost a hash and no I/O). Failed nodes keep their files; removals beyond the
 * deletion guard are held back.
 */
export async function diffHub(options: DiffOptions): Promise<Plan> {
  const { hub, rendered } = options;
  const existing = groupByNode(options);
  const nodes: NodeChange[] = [];
  const updated: Array<{ change: NodeChange; previous: ExistingNode; node: RenderedNode }> = [];

  for (const node of rendered.nodes) {
    const key = `${node.form}/${node.uid}`;
    const previous = existing.get(key);
    existing.delete(key);
    const writes = new Map<string, string>();
    const deletes: string[] = [];
    const changedFiles: string[] = [];
    for (const file of node.files) {
      if (previous?.files.get(file.name) === gitBlobId(file.content)) continue;
      writes.set(`${node.dir}/${file.name}`, file.content);
      changedFiles.push(file.name);
    }
    const wanted = new Set(node.files.map((file) => file.name));
    for (const name of previous?.files.keys() ?? []) {
      if (wanted.has(name)) continue;
      deletes.push(`${node.dir}/${name}`);
      changedFiles.push(name);
    }
    const resources = changedFiles.filter((name) => name !== KUSTOMIZATION_FILE && name !== LYNQNODE_FILE).map((name) => name.replace(/\.yaml$/, ''));
    const base = { hub: hub.name, form: node.form, uid: node.uid, resources, node, writes, deletes };
    if (previous === undefined) nodes.push({ ...base, status: 'added', reasons: ['new row'] });
    else if (changedFiles.length === 0) nodes.push({ ...base, status: 'unchanged', reasons: [] });
    else {
      const change: NodeChange = { ...base, status: 'updated', reasons: [] };
      nodes.push(change);
      updated.push({ change, previous, node });
    }
  }
  await explainUpdates(updated, options.readBlobs);

  for (const failure of rendered.failures) {
    existing.delete(`${failure.form}/${failure.uid}`);
    nodes.push({ ...unchangedFiles(hub.name, failure.form, failure.uid), status: 'failed', reasons: [], error: failure.error });
  }

  const removals = [...existing.values()];
  const nodeCount = groupByNode(options).size;
  const guard = hub.spec.deletionGuard.maxDeletePercent;
  const hold = !options.allowDeletions && removals.length > 0 && (removals.length === nodeCount || (removals.length * 100) / nodeCount > guard);
  for (const gone of removals) {
    const reason = !options.formNames.has(gone.form)
      ? `form ${gone.form} removed`
      : options.rendered.inactive.has(gone.uid)
        ? 'row deactivated'
        : 'row deleted';
    // A held node carries the deletes it would make, so a pull request can propose them;
    // fileChanges() never applies a held node's changes.
    const deletes = [...gone.files.keys()].map((name) => `${options.root}/${hub.name}/${gone.form}/${gone.uid}/${name}`);
    if (hold) {
      const why = `${reason}; held back by the deletion guard: ${removals.length} of ${nodeCount} nodes would be removed (limit ${guard}%), rerun with --allow-deletions to remove them`;
      nodes.push({ ...unchangedFiles(hub.name, gone.form, gone.uid), status: 'held', reasons: [why], deletes });
      continue;
    }
    nodes.push({ ...unchangedFiles(hub.name, gone.form, gone.uid), status: 'removed', reasons: [reason], deletes });
  }

  nodes.sort((a, b) => compareStrings(a.form, b.form) || compareStrings(a.uid, b.uid));
  return { hub: hub.name, nodes };
}

function unchangedFiles(hub: string, form: string, uid: string): Omit<NodeChange, 'status' | 'reasons'> {
  return { hub, form, uid, resources: [], writes: new Map(), deletes: [] };
}

function groupByNode(options: DiffOptions): Map<string, ExistingNode> {
  const nodes = new Map<string, ExistingNode>();
  for (const [path, blob] of options.existing) {
    const parsed = parseNodePath(options.root, options.hub.name, path);
    if (parsed === undefined) continue;
    const key = `${parsed.form}/${parsed.uid}`;
    let node = nodes.get(key);
    if (node === undefined) nodes.set(key, (node = { form: parsed.form, uid: parsed.uid, files: new Map() }));
    node.files.set(parsed.name, blob);
  }
  return nodes;
}

/**
 * Say why each updated node changed, from the LynqNode it had before: the form's hash,
 * the per-column hashes and the bridge version. Reads only the updated nodes' LynqNodes.
 */
async function explainUpdates(updated: Array<{ change: NodeChange; previous: ExistingNode; node: RenderedNode }>, readBlobs: BlobReader): Promise<void> {
  const ids = updated.map(({ previous }) => previous.files.get(LYNQNODE_FILE)).filter((id): id is string => id !== undefined);
  const blobs = ids.length > 0 ? await readBlobs(ids) : new Map<string, string>();
  for (const { change, previous, node } of updated) {
    const text = blobs.get(previous.files.get(LYNQNODE_FILE) ?? '');
    const before = text === undefined ? undefined : readLynqNode(text);
    const reasons: string[] = [];
    if (before !== undefined) {
      const columns = Object.keys({ ...before.columns, ...node.columnHashes })
        .filter((name) => before.columns[name] !== node.columnHashes[name])
        .sort(compareStrings);
      if (columns.length > 0) reasons.push(`columns changed: ${columns.join(', ')}`);
      if (before.formHash !== undefined && before.formHash !== node.formHash) reasons.push(`form ${node.form} changed`);
      if (before.version !== undefined && before.version !== node.bridgeVersion) reasons.push(`bridge version changed from ${before.version}`);
    }
    if (reasons.length === 0) reasons.push('files edited in Git restored to the rendered version');
    change.reasons = reasons;
  }
}

/** What an earlier LynqNode recorded; undefined when it is missing or not ours (edited by hand). */
function readLynqNode(text: string): { formHash?: string; version?: string; columns: Record<string, string> } | undefined {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return undefined;
  }
  const parsed = LynqNodeFile.safeParse(raw);
  if (!parsed.success) return undefined;
  const annotations = parsed.data.metadata.annotations ?? {};
  return { formHash: annotations[ANNOTATION_FORM_HASH], version: annotations[ANNOTATION_BRIDGE_VERSION], columns: parsed.data.spec.inputs.columns };
}
