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
 */
export type HubState = { folders: HubFolders; inputs: ReadonlyMap<string, string> };

/** The ids of the hub's node folder and apps folder (none: no such folder). */
export type HubFolders = readonly [nodes: string | undefined, apps: string | undefined];

const HEADER = 'lynq hub state 1';

export function hubStateText(inputs: readonly NodeInput[], folders: HubFolders): string {
  const lines = inputs.map((input) => `${input.form}/${input.uid} ${input.inputHash}\n`);
  // Rows usually come in key order, and then so do the lines: a sort is needed only when they do not.
  if (!inOrder(lines)) lines.sort(compareStrings);
  return `${HEADER}\nnodes ${folders[0] ?? '-'}\napps ${folders[1] ?? '-'}\n${lines.join('')}`;
}

function inOrder(lines: readonly string[]): boolean {
  for (let i = 1; i < lines.length; i++) if (compareStrings(lines[i - 1]!, lines[i]!) > 0) return false;
  return true;
}

/** Undefined for anything that is not a state this version wrote (a torn or foreign file: it only ever saves work). */
export function parseHubState(text: string): HubState | undefined {
  const lines = text.split('\n');
  const nodes = /^nodes (\S+)$/.exec(lines[1] ?? '')?.[1];
  const apps = /^apps (\S+)$/.exec(lines[2] ?? '')?.[1];
  if (lines[0] !== HEADER || nodes === undefined || apps === undefined || lines.at(-1) !== '') return undefined;
  const inputs = new Map<string, string>();
  for (let i = 3; i < lines.length - 1; i++) {
    const line = lines[i]!;
    const space = line.indexOf(' ');
    if (space <= 0 || !/^[0-9a-f]{64}$/.test(line.slice(space + 1))) return undefined;
    inputs.set(line.slice(0, space), line.slice(space + 1));
  }
  const id = (value: string) => (value === '-' ? undefined : value);
  return { folders: [id(nodes), id(apps)], inputs };
}

export function sameFolders(a: HubFolders, b: HubFolders): boolean {
  return a[0] === b[0] && a[1] === b[1];
}
