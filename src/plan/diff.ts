import type { Hub } from '../config/load.ts';
import { InternalError } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { compareStrings } from '../render/canonical-yaml.ts';
import { KUSTOMIZATION_FILE, LYNQNODE_FILE } from '../render/node.ts';
import { gitTreeId } from '../render/hash.ts';
import { sealedInputHash, type NodeOutput } from '../render/output-seal.ts';
import { parseAppPath, parseNodePath } from '../render/paths.ts';
import { readPreviousNode, readRecordedInputs, type PreviousNode } from './previous-node.ts';
import { isFailure, type NodeFacts, type NodeFailure, type NodeInput, type PreparedHub } from './render-hub.ts';
import { VerifiedOutputs } from './verified-outputs.ts';
import type {
  BlobReader,
  ChangeCause,
  FileContent,
  KeptNode,
  NodeChange,
  NodeStatus,
  Plan,
  TreeListing,
} from './types.ts';

export type DiffOptions = {
  hub: Hub;
  root: string;
  /** Forms of this hub that exist now; a node folder of another form is removed. */
  formNames: ReadonlySet<string>;
  prepared: PreparedHub;
  /** The hub's node folders in Git (`<form>/<uid>` → tree id), without their files. */
  nodeFolders: ReadonlyMap<string, string>;
  /** The hub's apps files in Git (path → blob id). */
  apps: TreeListing;
  /** The files of these node folders (repository paths) in Git, path → blob id: asked only for nodes the plan must look into. */
  listFiles: (folders: readonly string[]) => Promise<TreeListing>;
  readBlobs: BlobReader;
  /** Seals found to hold by earlier syncs, and where this one records those that hold now. */
  verified?: VerifiedOutputs;
  /**
   * Told each changed node's files (path → content) as soon as it is rendered, so the commit's files
   * are stored while the rest renders (ManifestsRepo.storeAhead); awaited, for backpressure.
   */
  storeAhead?: (files: Iterable<readonly [string, string]>) => Promise<void>;
  /**
   * Asked, before rendering, of each node whose change can be told from its LynqNode alone (a
   * new row, or an input the LynqNode recorded differently), with that change as the render
   * would find it (`unrendered`). True: the node is not rendered now; it is left in the plan
   * unrendered for the rollout gate, which renders it (`DeferredRenders.render`) only when it gets a
   * slot. What the gate paces (sync/rollout-gate.ts `deferrable`).
   */
  defer?: (change: NodeChange) => boolean;
};

/**
 * The changes a plan left for the rollout gate (`unrendered`), with what it takes to render
 * them when the gate gives them a slot: the node's input, what Git has of it, and what its
 * LynqNode recorded (read now, or by `prepare`).
 */
export interface DeferredRenders {
  /**
   * Read what `render` needs of these nodes (their folders' files and LynqNodes), in one
   * listing and one batch, where the plan did not: a change it told from what an earlier
   * sync told of the same input and folder (verified-outputs.ts) was neither listed nor
   * read. Before `render` of such a node.
   */
  prepare(nodes: readonly NodeChange[]): Promise<void>;
  /**
   * Render a node the plan left `unrendered` and compare it with Git, as the plan would
   * have; the result has no `unrendered`. Synchronous, and never stores ahead: commit()
   * stores what was not.
   */
  render(node: NodeChange): NodeChange;
}

export type DiffResult = {
  plan: Plan;
  deferred: DeferredRenders;
  /** How many changes were taken from what an earlier sync told (neither listed nor read). */
  toldEarlier: number;
};

/**
 * What Git has for one node: its folder's tree id, its files (name → blob id; listed only
 * for the nodes the plan looks into) and its apps file.
 */
type ExistingNode = {
  form: string;
  uid: string;
  tree: string | undefined;
  files: Map<string, string>;
  app: { path: string; blob: string } | undefined;
};

/**
 * Compare the hub's nodes with what Git has, byte for byte (by blob id). A node whose
 * input hash and folder (tree id, and apps file) an earlier sync already found sealed or
 * rendered is unchanged without listing its files (verified-outputs.ts): a no-op sync
 * reads one line per node from Git, not one per file. The other nodes' files are listed
 * and their LynqNodes read (one batch): a node whose LynqNode recorded the same input
 * hash, and whose seal says every file of it is as the bridge wrote it, is unchanged
 * without being rendered (output-seal.ts). Every other node is rendered and compared.
 * Nodes are found in both the node folders and the apps folder, so a node whose folder
 * is gone but whose Application is left is still cleaned up. Per file, the form's
 * policies apply: a `creationPolicy: Once` file that Git has is never rewritten; a file
 * edited in Git since the bridge wrote it (its blob differs from the one the previous
 * LynqNode recorded) is left alone under `conflictPolicy: Stuck` (the node is
 * `conflicted`, the rest of it is still written) and overwritten under `Force`. Failed
 * nodes keep their files. Removals are planned as removals; the deletion guard, a gate
 * after planning (sync/deletion-guard.ts), decides which are held.
 * A change `defer` accepts is told from the LynqNode (its form, hub, bridge and column
 * hashes against the current ones) and not rendered: most of a rollout's nodes wait, and a
 * step must cost about a no-op sync plus the slot's worth of renders, not a full render.
 */
export function diffHub(options: DiffOptions): Promise<DiffResult> {
  return new HubDiff(options).run();
}

/** A node of the hub with what Git has of it (undefined: a new node). */
type Candidate = { input: NodeInput; previous: ExistingNode | undefined };

/** A change left for the gate; `before` undefined: its LynqNode is not read yet (`prepare` reads it). */
type Deferred = {
  input: NodeInput;
  previous: ExistingNode | undefined;
  before: (() => PreviousNode | undefined) | undefined;
};

/** One diff of a hub (diffHub), and afterwards the renders it deferred to the rollout gate. */
class HubDiff implements DeferredRenders {
  private readonly verified: VerifiedOutputs;
  private readonly later = new Map<string, Deferred>();
  private readonly nodes: NodeChange[] = [];
  private rendered = 0;

  constructor(private readonly options: DiffOptions) {
    this.verified = options.verified ?? new VerifiedOutputs();
  }

  async run(): Promise<DiffResult> {
    const { hub, prepared } = this.options;
    const existing = groupByNode(this.options);
    const nodeCount = existing.size;
    const candidates = prepared.inputs.map((input): Candidate => {
      const key = `${input.form}/${input.uid}`;
      const previous = existing.get(key);
      existing.delete(key);
      return { input, previous };
    });
    // A failed node keeps what Git has: neither compared nor removed.
    for (const failure of prepared.failures) existing.delete(`${failure.form}/${failure.uid}`);
    const keys = candidates.map(({ input, previous }) =>
      previous === undefined ? undefined : VerifiedOutputs.key(input.inputHash, previous.tree, previous.app),
    );
    const remembered = this.rememberedChanges(candidates, keys);
    const unverified = candidates
      .filter(
        ({ previous }, index) => previous !== undefined && !this.verified.has(keys[index]!) && !remembered.has(index),
      )
      .map(({ previous }) => previous!);
    await listFiles(this.options, [...unverified, ...existing.values()]);
    const lynqNodeIds = unverified
      .map((previous) => previous.files.get(LYNQNODE_FILE))
      .filter((id): id is string => id !== undefined);
    const blobs = lynqNodeIds.length > 0 ? await this.options.readBlobs(lynqNodeIds) : new Map<string, string>();
    for (const [index, candidate] of candidates.entries()) {
      const known = remembered.get(index);
      if (known === undefined) await this.planNode(candidate, keys[index], blobs);
      else this.keepRemembered(candidate, keys[index]!, known);
    }
    for (const failure of prepared.failures) this.nodes.push(failed(hub.name, failure));
    for (const gone of existing.values()) this.nodes.push(this.goneNode(gone));
    this.nodes.sort((a, b) => compareStrings(a.form, b.form) || compareStrings(a.uid, b.uid));
    return {
      plan: { hub: hub.name, nodes: this.nodes, rendered: this.rendered, existingNodes: nodeCount },
      deferred: this,
      toldEarlier: remembered.size,
    };
  }

  render(node: NodeChange): NodeChange {
    const { hub } = this.options;
    const left = this.later.get(`${node.form}/${node.uid}`);
    if (node.unrendered === undefined || left === undefined)
      throw new InternalError(`hub ${hub.name}: node ${node.form}/${node.uid} was not left unrendered by the plan`, {
        hub: hub.name,
        form: node.form,
        uid: node.uid,
      });
    if (left.before === undefined)
      throw new InternalError(
        `hub ${hub.name}: node ${node.form}/${node.uid} was rendered before its LynqNode was read`,
        { hub: hub.name, form: node.form, uid: node.uid },
      );
    this.later.delete(`${node.form}/${node.uid}`);
    return this.renderNow(left.input, left.previous, left.before);
  }

  async prepare(asked: readonly NodeChange[]): Promise<void> {
    const unread = asked
      .map((node) => this.later.get(`${node.form}/${node.uid}`))
      .filter((left): left is Deferred => left !== undefined && left.before === undefined);
    if (unread.length === 0) return;
    const previous = unread.map((left) => left.previous!);
    await listFiles(this.options, previous);
    const ids = previous.map((node) => node.files.get(LYNQNODE_FILE)).filter((id): id is string => id !== undefined);
    const texts = ids.length > 0 ? await this.options.readBlobs(ids) : new Map<string, string>();
    for (const left of unread)
      left.before = this.lookInto(
        left.input,
        left.previous!,
        texts.get(left.previous!.files.get(LYNQNODE_FILE) ?? ''),
      ).before;
  }

  /** Changes an earlier sync told of the same input and folder, and still deferred: neither listed nor read now (by candidate index). */
  private rememberedChanges(
    candidates: readonly Candidate[],
    keys: ReadonlyArray<string | undefined>,
  ): Map<number, NodeChange> {
    const remembered = new Map<number, NodeChange>();
    const { defer, hub } = this.options;
    if (defer === undefined) return remembered;
    for (const [index, { input }] of candidates.entries()) {
      const key = keys[index];
      const told = key === undefined || this.verified.has(key) ? undefined : this.verified.toldOf(key);
      if (told === undefined) continue;
      const change = toldChange(hub.name, input, 'updated', told.reasons, told.causes);
      if (defer(change)) remembered.set(index, change);
    }
    return remembered;
  }

  private keepRemembered({ input, previous }: Candidate, key: string, known: NodeChange): void {
    this.verified.tell(key, { reasons: known.reasons, causes: known.causes });
    this.nodes.push(known);
    this.later.set(`${input.form}/${input.uid}`, { input, previous, before: undefined });
  }

  /** One node the rows ask for: unchanged by its seal, told and left for the gate, or rendered and compared. */
  private async planNode(
    { input, previous }: Candidate,
    key: string | undefined,
    blobs: ReadonlyMap<string, string>,
  ): Promise<void> {
    const { hub, prepared, defer, storeAhead } = this.options;
    const text = previous === undefined ? undefined : blobs.get(previous.files.get(LYNQNODE_FILE) ?? '');
    const looked = key === undefined || this.verified.has(key) ? undefined : this.lookInto(input, previous!, text);
    const sealedFor = looked?.sealedFor;
    if (key !== undefined && (this.verified.has(key) || sealedFor === input.inputHash)) {
      this.verified.hold(key);
      this.nodes.push(unchangedNode(hub.name, input.form, input.uid));
      return;
    }
    const before = looked?.before ?? (() => undefined);
    const told =
      defer === undefined
        ? undefined
        : tellChange(
            hub.name,
            input,
            previous,
            { text, sealed: sealedFor !== undefined, before },
            prepared.facts(input),
          );
    if (told !== undefined && defer!(told)) {
      // Told alike while the input and the folder stay: a later sync neither lists nor reads this node.
      if (key !== undefined && told.status === 'updated')
        this.verified.tell(key, { reasons: told.reasons, causes: told.causes });
      this.nodes.push(told);
      this.later.set(`${input.form}/${input.uid}`, { input, previous, before });
      return;
    }
    this.rendered++;
    const change = this.renderNow(input, previous, before);
    this.nodes.push(change);
    if (storeAhead !== undefined && change.writes.size > 0) {
      await storeAhead(textsOf(change.writes));
      keepStored(change, previous, (held) => prepared.keep(input, held));
    }
  }

  /** Render one node and compare it with what Git has (`before`: what its LynqNode recorded, read only now). */
  private renderNow(
    input: NodeInput,
    previous: ExistingNode | undefined,
    before: () => PreviousNode | undefined,
  ): NodeChange {
    const result = this.options.prepared.render(input);
    if (isFailure(result)) return failed(this.options.hub.name, result);
    // Its seal holds for what was just rendered, by construction: remembered, the next
    // sync reads no LynqNode of it if Git then has exactly these files.
    this.verified.hold(
      VerifiedOutputs.key(
        input.inputHash,
        gitTreeId(result.files.map((file) => [file.name, file.blob] as const)),
        result.appFile,
      ),
    );
    return compareNode(this.options.hub.name, result, previous, before());
  }

  /** What the node's LynqNode (`text`) says: the input hash it records when its seal holds over the node's files in Git, and what it recorded (read when first asked). */
  private lookInto(input: NodeInput, previous: ExistingNode, text: string | undefined) {
    const sealedFor = sealedInput(text, previous);
    const before = once(() =>
      text === undefined
        ? undefined
        : ((sealedFor === undefined ? undefined : sealedPrevious(text, this.options.prepared.facts(input))) ??
          readPreviousNode(text)),
    );
    return { sealedFor, before };
  }

  /** A node Git has that no row asks for now: paused (kept), failed (its row cannot say which node it is), or removed. */
  private goneNode(gone: ExistingNode): NodeChange {
    const { hub, prepared, root } = this.options;
    if (prepared.paused.has(gone.uid))
      return {
        ...fileless(hub.name, gone.form, gone.uid, 'paused', [
          `paused by column ${hub.spec.valueMappings.paused}: left as it is in Git`,
        ]),
        pausedBy: 'row',
      };
    const pausedWhy = prepared.pausedByAnnotation(gone.form, gone.uid);
    if (pausedWhy !== undefined)
      return { ...fileless(hub.name, gone.form, gone.uid, 'paused', [pausedWhy]), pausedBy: 'annotation' };
    const removal = removalReason(this.options, gone);
    // Its row may be one that cannot say which node it is: it fails, and keeps what Git has.
    if (removal.kind === 'row-deleted' && prepared.unidentified.length > 0) {
      const rowsText = `row${prepared.unidentified.length === 1 ? '' : 's'} ${prepared.unidentified.join(', ')}`;
      return failed(hub.name, {
        form: gone.form,
        uid: gone.uid,
        error: `hub ${hub.name}, form ${gone.form}, uid ${JSON.stringify(gone.uid)}: no row has this uid, but ${rowsText} cannot say which node ${prepared.unidentified.length === 1 ? 'it is' : 'they are'} (see their errors); kept as it is until ${prepared.unidentified.length === 1 ? 'that row is' : 'those rows are'} fixed or deleted`,
      });
    }
    // The deletes travel with the node: when the deletion guard holds it, a pull request can still propose them.
    const deletes = [...gone.files.keys()].map((name) => `${root}/${hub.name}/${gone.form}/${gone.uid}/${name}`);
    if (gone.app !== undefined) deletes.push(gone.app.path);
    const change = fileless(hub.name, gone.form, gone.uid, 'removed', [removal.why]);
    change.removal = removal.why;
    change.deletes = deletes;
    return change;
  }
}

/** Why a node Git has is no longer wanted: its kind, and the words commits, pull requests and the deletion guard use. */
type RemovalReason = { kind: 'form-removed' | 'row-deactivated' | 'unselected' | 'row-deleted'; why: string };

function removalReason(options: DiffOptions, gone: ExistingNode): RemovalReason {
  if (!options.formNames.has(gone.form)) return { kind: 'form-removed', why: `form ${gone.form} removed` };
  if (options.prepared.inactive.has(gone.uid)) return { kind: 'row-deactivated', why: 'row deactivated' };
  if (options.prepared.unselected.has(`${gone.form}/${gone.uid}`))
    return { kind: 'unselected', why: "no longer matches the form's selector" };
  return { kind: 'row-deleted', why: 'row deleted' };
}

/**
 * The diff of a hub left whole by an earlier sync with these same inputs, over the same
 * folders in Git (plan/hub-state.ts): each node unchanged, nothing listed or read.
 */
export function unchangedHub(hub: string, inputs: readonly NodeInput[]): DiffResult {
  const deferred: DeferredRenders = {
    prepare: async () => undefined,
    render(node) {
      throw new InternalError(`hub ${hub}: node ${node.form}/${node.uid} was not left unrendered by the plan`, {
        hub,
        form: node.form,
        uid: node.uid,
      });
    },
  };
  return {
    plan: withUnchanged({ hub, nodes: [], rendered: 0, existingNodes: inputs.length }, hub, inputs, inputs.length),
    deferred,
    toldEarlier: 0,
  };
}

/** A plan of some of a hub's nodes, with the rest (`untouched`: their input is the one Git's folders hold) unchanged; Git has `existingNodes`. */
export function withUnchanged(plan: Plan, hub: string, untouched: readonly NodeInput[], existingNodes: number): Plan {
  const nodes = [...plan.nodes, ...untouched.map((input) => unchangedNode(hub, input.form, input.uid))];
  nodes.sort((a, b) => compareStrings(a.form, b.form) || compareStrings(a.uid, b.uid));
  return { ...plan, nodes, existingNodes };
}

/**
 * The change a render would find, told from what the node's LynqNode recorded against what
 * it would be rendered from now (`facts`), without rendering: a new row, or the form, hub
 * settings, bridge version or columns that differ (the reasons the render's comparison
 * gives). A sealed LynqNode whose row hash is the current one is not even parsed: its
 * annotation lines say the rest. Undefined when it cannot be told: no LynqNode to read, none
 * of its inputs differ (its files were edited in Git), or the change removes the node's
 * engine object (a removal: never paced).
 */
function tellChange(
  hub: string,
  input: NodeInput,
  previous: ExistingNode | undefined,
  lynqNode: { text: string | undefined; sealed: boolean; before: () => PreviousNode | undefined },
  facts: NodeFacts,
): NodeChange | undefined {
  if (previous === undefined) return toldChange(hub, input, 'added', NEW_ROW, NONE);
  if (lynqNode.text === undefined) return undefined;
  if (facts.engine === 'none' && previous.app !== undefined) return undefined;
  const recorded = lynqNode.sealed ? readRecordedInputs(lynqNode.text) : undefined;
  // The same row hash: the same values, so the same column hashes.
  const before =
    recorded !== undefined && recorded.rowHash === facts.rowHash
      ? { ...recorded, columns: facts.columnHashes }
      : lynqNode.before();
  // A node moving cluster removes its engine object from the old one: a removal, never paced.
  if (
    facts.cluster !== undefined &&
    before !== undefined &&
    'engine' in before &&
    before.engine?.cluster !== facts.cluster
  )
    return undefined;
  const why = explain(facts, before);
  if (why.length === 0) return undefined;
  return toldChange(
    hub,
    input,
    'updated',
    why.map((item) => item.reason),
    [...new Set(why.map((item) => item.cause))],
  );
}

/** A change told without rendering (tellChange). */
function toldChange(
  hub: string,
  input: NodeInput,
  status: NodeStatus,
  reasons: readonly string[],
  causes: readonly ChangeCause[],
): NodeChange {
  const change = fileless(hub, input.form, input.uid, status, reasons, causes);
  change.unrendered = true;
  return change;
}

/**
 * What a sealed LynqNode recorded, from its annotation lines when its row is the same (no
 * YAML parse, which is most of a form change over many nodes). Its seal holds,
 * so every file of the node is as the bridge wrote it: no resource can have been edited in
 * Git, and the resource list that tells edits apart is not needed. Undefined: parse it.
 */
function sealedPrevious(text: string, facts: NodeFacts): PreviousNode | undefined {
  const recorded = readRecordedInputs(text);
  if (recorded === undefined || recorded.rowHash !== facts.rowHash) return undefined;
  // The same row, so the same cluster (an empty column's default is in the row's values).
  const engine = facts.engine === 'none' ? undefined : { name: facts.engine, cluster: facts.cluster };
  return {
    formHash: recorded.formHash,
    hubHash: recorded.hubHash,
    version: recorded.version,
    columns: facts.columnHashes,
    resources: new Map(),
    objects: [],
    engine,
  };
}

/** `make()`, called at most once, when first asked for. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** The writes whose content is at hand (path → content). */
function* textsOf(writes: ReadonlyMap<string, FileContent>): Generator<readonly [string, string]> {
  for (const [path, content] of writes) if (typeof content === 'string') yield [path, content];
}

/**
 * Once a changed node's files are stored ahead, git holds every blob of it that matters:
 * those just stored, and those Git had already. The change and the render memo keep only
 * their ids from then on (the commit names them by id; a diff text reads them back), so
 * a large first sync does not hold every file's text until the commit.
 */
function keepStored(
  change: NodeChange,
  previous: ExistingNode | undefined,
  keep: (held: (blob: string) => boolean) => KeptNode,
): void {
  const node = change.node!;
  const blobs = new Map<string, string>(node.files.map((file) => [`${node.dir}/${file.name}`, file.blob]));
  if (node.appFile !== undefined) blobs.set(node.appFile.path, node.appFile.blob);
  const held = new Set(previous?.files.values());
  if (previous?.app !== undefined) held.add(previous.app.blob);
  const stored = new Map<string, FileContent>();
  for (const path of change.writes.keys()) {
    const blob = blobs.get(path)!;
    held.add(blob);
    stored.set(path, { blob });
  }
  change.writes = stored;
  change.node = keep((blob) => held.has(blob));
}

/** One rendered node against what Git has for it. */
function compareNode(
  hub: string,
  node: KeptNode,
  previous: ExistingNode | undefined,
  before: PreviousNode | undefined,
): NodeChange {
  const writes = new Map<string, FileContent>();
  const deletes: string[] = [];
  const changedFiles: string[] = [];
  const conflicts: string[] = [];
  const forced: string[] = [];
  const resources = new Map(node.resources.map((resource) => [resource.file, resource]));
  for (const file of node.files) {
    const inGit = previous?.files.get(file.name);
    if (inGit === file.blob) continue;
    const resource = resources.get(file.name);
    if (resource !== undefined && inGit !== undefined) {
      if (resource.creationPolicy === 'Once') continue;
      const last = before?.resources.get(file.name);
      // Edited in Git by someone else: Git's blob is not the one the bridge wrote last
      // (a file that was Once until now was never rewritten, so it is not an edit).
      if (last?.blob !== undefined && last.blob !== inGit && last.creationPolicy !== 'Once') {
        if (resource.conflictPolicy === 'Stuck') {
          conflicts.push(`${file.name} edited in Git, left as is (conflictPolicy Stuck)`);
          continue;
        }
        forced.push(`${file.name} edited in Git, overwritten (conflictPolicy Force)`);
      }
    }
    // A stored file is written by its blob id: the file itself names it (no second object per file).
    writes.set(`${node.dir}/${file.name}`, file.content ?? file);
    changedFiles.push(file.name);
  }
  const wanted = new Set(node.files.map((file) => file.name));
  for (const name of previous?.files.keys() ?? []) {
    if (wanted.has(name)) continue;
    deletes.push(`${node.dir}/${name}`);
    changedFiles.push(name);
  }
  if (
    node.appFile !== undefined &&
    (node.appFile.blob !== previous?.app?.blob || node.appFile.path !== previous.app.path)
  )
    writes.set(node.appFile.path, node.appFile.content ?? node.appFile);
  // Flux with one instance per cluster: a node that moves, or a hub that changes layout, moves its file to another path.
  if (node.appFile !== undefined && previous?.app !== undefined && node.appFile.path !== previous.app.path)
    deletes.push(previous.app.path);
  const engineRemoved = node.appFile === undefined && previous?.app !== undefined;
  if (engineRemoved) deletes.push(previous.app!.path);
  const moved =
    node.appFile !== undefined && previous?.app !== undefined
      ? (movedFrom(before, node.cluster) ?? movedBetweenLayouts(previous.app.path, node.appFile.path, node.cluster))
      : undefined;

  const changedResources = changedFiles.filter(isResourceFile).map(resourceIdOf);
  const change = (status: NodeStatus, reasons: readonly string[], causes: readonly ChangeCause[]): NodeChange =>
    nodeChange(hub, node, status, reasons, causes, changedResources, writes, deletes.length === 0 ? NONE : deletes);
  if (previous === undefined) return change('added', NEW_ROW, NONE);
  const changed = writes.size > 0 || deletes.length > 0;
  if (!changed && conflicts.length === 0) return change('unchanged', NONE, NONE);
  const why = changed ? explain(node, before) : [];
  if (changed && why.length === 0 && forced.length === 0 && moved === undefined)
    why.push({ cause: 'edit', reason: 'files edited in Git restored to the rendered version' });
  for (const reason of [...forced, ...conflicts]) why.push({ cause: 'edit', reason });
  const removal = engineRemoved
    ? 'its engine object (Argo CD Application or Flux Kustomization) removed: spec.gitops.engine is none'
    : moved;
  if (removal !== undefined) why.push({ cause: 'engine', reason: removal });
  const causes = [...new Set(why.map((item) => item.cause))];
  const made = change(
    conflicts.length > 0 ? 'conflicted' : 'updated',
    why.map((item) => item.reason),
    causes,
  );
  if (removal !== undefined) made.removal = removal;
  return made;
}

/**
 * A rendered node's change as one object literal, its properties always in this order.
 * V8 gives an object made by spreading (`{ ...base, status }`) a hidden class of its own:
 * 9,991 of the 10,000 changes of a first sync had one, about 300 bytes each (a heap
 * snapshot), where literals share theirs.
 */
function nodeChange(
  hub: string,
  node: KeptNode,
  status: NodeStatus,
  reasons: readonly string[],
  causes: readonly ChangeCause[],
  resources: readonly string[],
  writes: ReadonlyMap<string, FileContent>,
  deletes: readonly string[],
): NodeChange {
  return { hub, form: node.form, uid: node.uid, status, reasons, causes, resources, node, writes, deletes };
}

/**
 * "moved from cluster a to b", when the node's engine objects were for another cluster than
 * now (`valueMappings.cluster`): their names carry the cluster, so the old objects are
 * pruned (the engine deletes what they applied in cluster a) and new ones made. A removal
 * in cluster a, which the deletion guard counts. Undefined when it did not move or its
 * LynqNode cannot say.
 */
function movedFrom(before: PreviousNode | undefined, cluster: string | undefined): string | undefined {
  if (before?.engine === undefined || before.engine.cluster === cluster) return undefined;
  const from = before.engine.cluster === undefined ? "the hub's destination" : `cluster ${before.engine.cluster}`;
  const to =
    cluster === undefined
      ? "the hub's destination"
      : before.engine.cluster === undefined
        ? `cluster ${cluster}`
        : cluster;
  const objects = before.engine.name === 'argocd' ? 'Argo CD Application' : 'Flux Kustomizations';
  return `moved from ${from} to ${to}: its ${objects} in ${from} removed`;
}

/**
 * A node whose Flux Kustomization file changes path in the same cluster: the hub switched
 * between one Flux for every cluster and one per cluster (`flux.layout`). The Kustomization
 * that applied it goes from one Flux and comes anew in the other, and with `prune` the
 * old one deletes what it applied before the new one applies it again: a removal, which
 * the deletion guard counts, as a move between clusters is. Undefined when the path stays.
 */
function movedBetweenLayouts(before: string, now: string, cluster: string | undefined): string | undefined {
  if (before === now || cluster === undefined) return undefined;
  const toPerCluster = now.split('/').length > before.split('/').length;
  return toPerCluster
    ? `moved to cluster ${cluster}'s own Flux (flux.layout per-cluster): its Flux Kustomizations in the management cluster removed`
    : `moved to the management cluster's Flux (flux.layout management): its Flux Kustomizations in cluster ${cluster}'s own Flux removed`;
}

/** Why a node changed, from the LynqNode it had before: columns, form, hub settings, bridge version. */
function explain(
  node: Omit<NodeFacts, 'engine' | 'rowHash'>,
  before: Pick<PreviousNode, 'formHash' | 'hubHash' | 'version' | 'columns'> | undefined,
): Array<{ cause: ChangeCause; reason: string }> {
  if (before === undefined) return [];
  const why: Array<{ cause: ChangeCause; reason: string }> = [];
  const columns = Object.keys({ ...before.columns, ...node.columnHashes })
    .filter((name) => before.columns[name] !== node.columnHashes[name])
    .sort(compareStrings);
  if (columns.length > 0) why.push({ cause: 'row', reason: `columns changed: ${columns.join(', ')}` });
  if (before.formHash !== undefined && before.formHash !== node.formHash)
    why.push({ cause: 'form', reason: `form ${node.form} changed` });
  if (before.hubHash !== undefined && before.hubHash !== node.hubHash)
    why.push({ cause: 'hub', reason: `hub ${node.hub} settings changed` });
  if (before.version !== undefined && before.version !== node.bridgeVersion)
    why.push({ cause: 'bridge', reason: `bridge version changed from ${before.version}` });
  return why;
}

/** `<id>.yaml` → `<id>`: one string per name, which every changed node's change keeps (a first sync of 100,000 nodes, five each). */
const resourceIds = new Map<string, string>();
function resourceIdOf(name: string): string {
  let id = resourceIds.get(name);
  if (id === undefined) {
    id = name.replace(/\.yaml$/, '');
    // Bounded by the forms' resource ids; cleared should a hub have unusually many.
    if (resourceIds.size >= 10_000) resourceIds.clear();
    resourceIds.set(name, id);
  }
  return id;
}

/** A form resource's own file (`<id>.yaml`), as opposed to the bridge's bookkeeping files. */
function isResourceFile(name: string): boolean {
  return name !== KUSTOMIZATION_FILE && name !== LYNQNODE_FILE && !name.includes('/');
}

/** The input hash the node's LynqNode (`text`) records, when its seal matches the node's files in Git; else undefined. */
function sealedInput(text: string | undefined, previous: ExistingNode): string | undefined {
  if (text === undefined) return undefined;
  // The seal covers every file but the LynqNode itself, and the apps file.
  const output: NodeOutput = {
    files: [...previous.files].filter(([name]) => name !== LYNQNODE_FILE),
    app: previous.app,
  };
  return sealedInputHash(text, output);
}

function failed(hub: string, failure: NodeFailure): NodeChange {
  const change = fileless(hub, failure.form, failure.uid, 'failed', NONE);
  change.error = failure.error;
  return change;
}

/** Shared by every node that changes no file (read-only by type): 10,000 unchanged nodes need no 50,000 empty arrays and maps. */
const NO_WRITES: ReadonlyMap<string, string> = new Map();
const NONE: readonly never[] = [];
/** Every added node's reasons, shared likewise (a first sync of 100,000 nodes). */
const NEW_ROW: readonly string[] = ['new row'];

/**
 * A change that writes no file (yet), as one literal: a removal, a failure, a change told
 * without rendering, an unchanged node. Optional fields are set on it afterwards, never
 * spread in (nodeChange says why).
 */
function fileless(
  hub: string,
  form: string,
  uid: string,
  status: NodeStatus,
  reasons: readonly string[],
  causes: readonly ChangeCause[] = NONE,
): NodeChange {
  return { hub, form, uid, status, reasons, causes, resources: NONE, writes: NO_WRITES, deletes: NONE };
}

function unchangedNode(hub: string, form: string, uid: string): NodeChange {
  return fileless(hub, form, uid, 'unchanged', NONE);
}

function groupByNode(options: DiffOptions): Map<string, ExistingNode> {
  const appsRoot = resolveGitops(options.hub).appsRoot;
  const nodes = new Map<string, ExistingNode>();
  for (const [key, tree] of options.nodeFolders) {
    const at = key.indexOf('/');
    nodes.set(key, { form: key.slice(0, at), uid: key.slice(at + 1), tree, files: new Map(), app: undefined });
  }
  for (const [path, blob] of options.apps) {
    const app = parseAppPath(appsRoot, options.hub.name, path);
    if (app === undefined) continue;
    const key = `${app.form}/${app.uid}`;
    let node = nodes.get(key);
    if (node === undefined)
      nodes.set(key, (node = { form: app.form, uid: app.uid, tree: undefined, files: new Map(), app: undefined }));
    node.app = { path, blob };
  }
  return nodes;
}

/** Fill in the files of these nodes (those with a folder) from one listing of their folders. */
async function listFiles(options: DiffOptions, nodes: readonly ExistingNode[]): Promise<void> {
  const wanted = new Map(
    nodes.filter((node) => node.tree !== undefined).map((node) => [`${node.form}/${node.uid}`, node]),
  );
  if (wanted.size === 0) return;
  const listing = await options.listFiles(
    [...wanted.values()].map((node) => `${options.root}/${options.hub.name}/${node.form}/${node.uid}`),
  );
  for (const [path, blob] of listing) {
    const file = parseNodePath(options.root, options.hub.name, path);
    if (file !== undefined) wanted.get(`${file.form}/${file.uid}`)?.files.set(file.name, blob);
  }
}
