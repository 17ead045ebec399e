import type { Form, Hub } from '../config/load.ts';
import { writtenAs } from '../config/lynq-syntax.ts';
import { InternalError, isLynqError, messageOf } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import type { RenderedNode } from '../render/node.ts';
import type { ResolvedGitops } from '../gitops/types.ts';
import {
  columnHashes,
  formHash,
  lynqNodeName,
  nodeInputHash,
  renderNode,
  rowHashOf,
  type InputHashes,
  type RenderContext,
} from './node.ts';
import { sha256 } from '../render/hash.ts';
import { uidProblem } from '../render/paths.ts';
import { TemplateEngine } from '../render/template.ts';
import type { HubRow } from '../sources/rows.ts';
import type { KeptNode } from './types.ts';

export type NodeFailure = { form: string; uid: string; error: string };

export type RenderedHub = {
  nodes: RenderedNode[];
  failures: NodeFailure[];
  /** uids of inactive rows, to tell "deactivated" from "deleted" on removal. */
  inactive: Set<string>;
};

/** One active row × one form, before rendering: where it goes and what it is rendered from. */
export type NodeInput = { form: string; uid: string; inputHash: string };

/** A hub's nodes ready to render, each only when asked for (a node Git already has as rendered is never rendered). */
export type PreparedHub = {
  inputs: NodeInput[];
  /** Nodes that fail before any rendering: a uid shared by several active rows, a row that cannot be read. */
  failures: NodeFailure[];
  inactive: Set<string>;
  /**
   * `<form>/<uid>` of active rows a form's row selector (`spec.rows.when`) leaves out: no
   * node of that form, and one Git has is removed as "no longer matches the form's selector".
   */
  unselected: Set<string>;
  /** uids of rows the hub's `valueMappings.paused` column pauses: Git keeps their nodes as they are. */
  paused: Set<string>;
  /**
   * Why a node is paused by its LynqNode's annotation (`spec.gitops.pauseFromLynqNode`), or
   * undefined: one node (one form of a uid), whatever its row says now; Git keeps it as it is.
   */
  pausedByAnnotation: (form: string, uid: string) => string | undefined;
  /**
   * Numbers of the rows that cannot say which node they are (an active row whose uid is
   * NULL or not a valid uid, a row that cannot be read): any node Git has could be theirs,
   * so while there are some, no node is removed as "row deleted".
   */
  unidentified: number[];
  /** Render one of `inputs`; a node that cannot be rendered is a failure. Memoised: a re-planned attempt renders nothing twice. */
  render: (input: NodeInput) => KeptNode | NodeFailure;
  /** Render one of `inputs` afresh, every content at hand (`lynq render`); what `render` memoises. */
  renderNew: (input: NodeInput) => RenderedNode | NodeFailure;
  /**
   * Drop from the memo the contents of the files of a rendered input whose blobs git holds
   * (`held`): they are named by blob id from then on. The node as kept.
   */
  keep: (input: NodeInput, held: (blob: string) => boolean) => KeptNode;
  /** What one of `inputs` would be rendered from, as its LynqNode records it, without rendering it (to tell a change before rendering). */
  facts: (input: NodeInput) => NodeFacts;
};

/** The part of a rendered node its LynqNode records about its inputs (what changed since is read from these), and its engine. */
export type NodeFacts = Pick<
  RenderedNode,
  'hub' | 'form' | 'formHash' | 'hubHash' | 'bridgeVersion' | 'columnHashes'
> & {
  rowHash: string;
  engine: ResolvedGitops['engine'];
  /** The cluster the row names, for a hub with `valueMappings.cluster`. */
  cluster: string | undefined;
};

export type PrepareOptions = {
  root: string;
  bridgeVersion: string;
  /**
   * Renders kept across preparations of the same hub (a sync that reads its rows again after
   * a push race): a node whose input hash is the same is not rendered again. Keyed by form,
   * uid and input hash; rendering is a pure function of those.
   */
  memo?: Map<string, KeptNode | NodeFailure>;
  /** LynqNodes whose annotation pauses their node, by LynqNode name (`<uid>-<form>`) → why, as the sync read them from the cluster. */
  pausedNodes?: ReadonlyMap<string, string>;
  /** Each row's values as stableJson, index by index (rows-digest.ts made them): hashed as they are instead of serialised again. */
  rowTexts?: readonly string[];
};

/**
 * Every active row × every form of the hub, with its input hash. One bad row or template
 * fails that node only. Rows sharing a uid all fail: which one is meant cannot be guessed.
 */
export function prepareHub(
  hub: Hub,
  forms: readonly Form[],
  rows: readonly HubRow[],
  options: PrepareOptions,
): PreparedHub {
  const engine = new TemplateEngine(templateVariables(hub));
  const gitops = resolveGitops(hub);
  // One pass over the rows: at 100,000 rows, every extra array or copy per row shows.
  const unreadable: Array<{ row: HubRow; number: number }> = [];
  const active: Array<{ row: HubRow; number: number; rowHash: string }> = [];
  const unidentified: number[] = [];
  // Each uid's row number; the numbers of a uid on several active rows apart (an array per row would be 100,000 arrays).
  const firstRow = new Map<string, number>();
  const repeated = new Map<string, number[]>();
  const inactive = new Set<string>();
  const paused = new Set<string>();
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    const number = index + 1;
    // A paused row is not rendered, removed or checked: its nodes stay as Git has them, whatever the row says now.
    if (row.paused === true && row.problem === undefined) paused.add(row.uid);
    else if (row.problem !== undefined) {
      unreadable.push({ row, number });
      unidentified.push(number);
    } else if (!row.active) inactive.add(row.uid);
    else {
      // Hashed once, whatever the number of forms.
      const text = options.rowTexts?.[index];
      active.push({ row, number, rowHash: text === undefined ? rowHashOf(row) : sha256(text) });
      if (uidProblem(row.uid) !== undefined) unidentified.push(number);
      const first = firstRow.get(row.uid);
      if (first === undefined) firstRow.set(row.uid, number);
      else {
        const same = repeated.get(row.uid);
        if (same === undefined) repeated.set(row.uid, [first, number]);
        else same.push(number);
      }
    }
  }

  const pausedNodes = options.pausedNodes;
  const pausedByAnnotation = (form: string, uid: string): string | undefined =>
    pausedNodes === undefined || pausedNodes.size === 0 ? undefined : pausedNodes.get(lynqNodeName(uid, form));
  const sources = new Map<NodeInput, { context: RenderContext; row: HubRow; hashes: InputHashes }>();
  const inputs: NodeInput[] = [];
  const failures: NodeFailure[] = [];
  const unselected = new Set<string>();
  for (const form of forms) {
    const context: RenderContext = {
      hub,
      form,
      formHash: formHash(form),
      engine,
      root: options.root,
      bridgeVersion: options.bridgeVersion,
      gitops,
    };
    const reported = new Set<string>();
    for (const { row, number } of unreadable) {
      failures.push({
        form: form.name,
        uid: row.uid,
        error: `hub ${hub.name}, form ${form.name}, uid ${JSON.stringify(row.uid)}: row ${number}: ${row.problem}; the row fails until it is fixed`,
      });
    }
    for (const { row, rowHash } of active) {
      // Another row with this uid is paused: the uid's nodes stay as Git has them.
      if (paused.has(row.uid)) continue;
      // Its LynqNode's annotation pauses this one node: it stays as Git has it, selected, repeated or not.
      if (pausedByAnnotation(form.name, row.uid) !== undefined) continue;
      const numbers = repeated.get(row.uid);
      if (numbers !== undefined) {
        if (!reported.has(row.uid)) {
          reported.add(row.uid);
          failures.push({
            form: form.name,
            uid: row.uid,
            error: `hub ${hub.name}, form ${form.name}, uid ${JSON.stringify(row.uid)}: the uid appears in ${numbers.length} active rows (rows ${numbers.join(', ')}); every one of them fails until it is unique`,
          });
        }
        continue;
      }
      const selected = selectRow(context, row);
      if (selected !== true) {
        if (selected === false) unselected.add(`${form.name}/${row.uid}`);
        else failures.push(selected);
        continue;
      }
      const hashes = nodeInputHash(context, gitops, row, rowHash);
      const input = { form: form.name, uid: row.uid, inputHash: hashes.inputHash };
      inputs.push(input);
      sources.set(input, { context, row, hashes });
    }
  }

  const done = options.memo ?? new Map<string, KeptNode | NodeFailure>();
  const memoKey = (input: NodeInput): string => `${input.form}/${input.uid}/${input.inputHash}`;
  const renderNew = (input: NodeInput): RenderedNode | NodeFailure => {
    const { context, row, hashes } = sources.get(input)!;
    try {
      return renderNode(context, row, hashes);
    } catch (error) {
      if (!isLynqError(error)) throw error;
      return { form: input.form, uid: input.uid, error: messageOf(error) + writtenAs(context.form.spec, error.where) };
    }
  };
  const render = (input: NodeInput): KeptNode | NodeFailure => {
    const key = memoKey(input);
    let result = done.get(key);
    if (result === undefined) done.set(key, (result = renderNew(input)));
    return result;
  };
  const keep = (input: NodeInput, held: (blob: string) => boolean): KeptNode => {
    const node = render(input);
    if (isFailure(node))
      throw new InternalError(
        `hub ${hub.name}: node ${input.form}/${input.uid} failed to render, so it has no files to keep`,
        { hub: hub.name, form: input.form, uid: input.uid },
      );
    const appFile =
      node.appFile !== undefined && held(node.appFile.blob) ? { ...node.appFile, content: undefined } : node.appFile;
    const kept: KeptNode = {
      ...node,
      files: node.files.map((file) => (held(file.blob) ? { ...file, content: undefined } : file)),
      appFile,
    };
    done.set(memoKey(input), kept);
    return kept;
  };
  const facts = (input: NodeInput): NodeFacts => {
    const { context, row, hashes } = sources.get(input)!;
    return {
      hub: hub.name,
      form: input.form,
      formHash: `sha256:${context.formHash}`,
      hubHash: `sha256:${gitops.hash}`,
      bridgeVersion: options.bridgeVersion,
      columnHashes: columnHashes(row.values),
      rowHash: `sha256:${hashes.rowHash}`,
      engine: gitops.engine,
      cluster: gitops.clusters === undefined ? undefined : row.values.cluster,
    };
  };
  return {
    inputs,
    failures,
    inactive,
    unselected,
    paused,
    pausedByAnnotation,
    unidentified,
    render,
    renderNew,
    keep,
    facts,
  };
}

/**
 * Whether the form's row selector takes this row (true without one). A selector that cannot
 * be read for the row fails the node, which keeps what Git has: a typo must not remove it.
 */
function selectRow(context: RenderContext, row: HubRow): boolean | NodeFailure {
  const when = context.form.spec.rows?.when;
  if (when === undefined) return true;
  const { hub, form, engine } = context;
  try {
    return engine.selects(
      when,
      { ...row.values, hubId: hub.name, templateRef: form.name },
      { hub: hub.name, form: form.name, uid: row.uid },
      'spec.rows.when',
    );
  } catch (error) {
    if (!isLynqError(error)) throw error;
    return { form: form.name, uid: row.uid, error: messageOf(error) };
  }
}

/** Render every node of the hub now (`lynq render`, tests); a sync renders only what it must. */
export function renderHub(
  hub: Hub,
  forms: readonly Form[],
  rows: readonly HubRow[],
  options: PrepareOptions,
): RenderedHub {
  const prepared = prepareHub(hub, forms, rows, options);
  const nodes: RenderedNode[] = [];
  const failures = [...prepared.failures];
  for (const input of prepared.inputs) {
    const result = prepared.renderNew(input);
    if (isFailure(result)) failures.push(result);
    else nodes.push(result);
  }
  return { nodes, failures, inactive: prepared.inactive };
}

export function isFailure<T extends object>(result: T | NodeFailure): result is NodeFailure {
  return 'error' in result;
}

/** The names a hub's templates may use. */
export function templateVariables(hub: Hub): string[] {
  const names = ['uid', 'activate', 'hubId', 'templateRef', ...Object.keys(hub.spec.extraValueMappings)];
  if (hub.spec.valueMappings.hostOrUrl !== undefined) names.push('hostOrUrl', 'host');
  if (hub.spec.valueMappings.cluster !== undefined) names.push('cluster');
  return names;
}
