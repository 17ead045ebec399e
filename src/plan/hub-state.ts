import { compareStrings } from '../render/canonical-yaml.ts';
import type { NodeInput } from './render-hub.ts';

/**
 * A hub as a sync left it whole: the ids of its node folder and apps folder in Git, and
 * every node's input (form, uid, input hash). Written only when every node was found as
 * it should be (a no-op sync), or was just written as rendered (a sync whose every change
 * was pushed): Git's ids name content, so while the folders have the same ids,
 *
 * - the same inputs are the same outputs: the hub is unchanged without a listing;
 * - other inputs change only the nodes whose input differs, or that came or went: the
 *   rest are unchanged without a listing, and only those are looked into.
 *
 * Kept as text, one node a line in a fixed order, so that two states compare as strings.
 * It also keeps the digest of what the inputs were computed from (rows-digest.ts): while
 * the rows, hub and forms give the same digest and the folders have the same ids, the hub
 * is unchanged without computing any node's input hash.
 */
export type HubState = { digest: string | undefined; folders: HubFolders; inputs: ReadonlyMap<string, string> };

/** The ids of the hub's node folder and apps folder (none: no such folder). */
export type HubFolders = readonly [nodes: string | undefined, apps: string | undefined];

const HEADER = 'lynq hub state 2';

export function hubStateText(inputs: readonly NodeInput[], folders: HubFolders, digest: string | undefined): string {
  const lines = inputs.map((input) => `${input.form}/${input.uid} ${input.inputHash}\n`);
  // Rows usually come in key order, and then so do the lines: a sort is needed only when they do not.
  if (!inOrder(lines)) lines.sort(compareStrings);
  return `${HEADER}\nrows ${digest ?? '-'}\nnodes ${folders[0] ?? '-'}\napps ${folders[1] ?? '-'}\n${lines.join('')}`;
}

/**
 * The state's digest and folders, read from its first lines only (a state of 100,000
 * nodes is some 9 MB of text): enough to tell an unchanged hub. Undefined for anything that
 * is not a state this version wrote.
 */
export function hubStateHead(text: string): { digest: string | undefined; folders: HubFolders } | undefined {
  const head = text.slice(0, 512).split('\n');
  if (head[0] !== HEADER) return undefined;
  const digest = /^rows (\S+)$/.exec(head[1] ?? '')?.[1];
  const nodes = /^nodes (\S+)$/.exec(head[2] ?? '')?.[1];
  const apps = /^apps (\S+)$/.exec(head[3] ?? '')?.[1];
  if (digest === undefined || nodes === undefined || apps === undefined) return undefined;
  const id = (value: string) => (value === '-' ? undefined : value);
  return { digest: id(digest), folders: [id(nodes), id(apps)] };
}

/** Every node of a state as the plan's inputs (form, uid, input hash), in the state's order. */
export function stateInputs(state: HubState): NodeInput[] {
  return [...state.inputs].map(([node, inputHash]) => {
    const slash = node.indexOf('/');
    return { form: node.slice(0, slash), uid: node.slice(slash + 1), inputHash };
  });
}

function inOrder(lines: readonly string[]): boolean {
  for (let i = 1; i < lines.length; i++) if (compareStrings(lines[i - 1]!, lines[i]!) > 0) return false;
  return true;
}

/** Undefined for anything that is not a state this version wrote (a torn or foreign file: it only ever saves work). */
export function parseHubState(text: string): HubState | undefined {
  const head = hubStateHead(text);
  const lines = text.split('\n');
  if (head === undefined || lines.at(-1) !== '') return undefined;
  const inputs = new Map<string, string>();
  for (let i = 4; i < lines.length - 1; i++) {
    const line = lines[i]!;
    const space = line.indexOf(' ');
    if (space <= 0 || line.indexOf('/') <= 0 || !/^[0-9a-f]{64}$/.test(line.slice(space + 1))) return undefined;
    inputs.set(line.slice(0, space), line.slice(space + 1));
  }
  return { digest: head.digest, folders: head.folders, inputs };
}

export function sameFolders(a: HubFolders, b: HubFolders): boolean {
  return a[0] === b[0] && a[1] === b[1];
}
