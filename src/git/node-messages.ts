import type { NodeChange } from '../plan/types.ts';

/*
 * The bridge's words about nodes in commit messages and pull-request bodies, written and
 * read back here only: a body line per node, a pull-request table row per node, and the
 * trailers (`Lynq-Hub`, `Lynq-Branch`, `Lynq-Node`) that stay complete when a body is cut.
 * `lynq history` and the pull-request side read what the sync wrote through these.
 */

export const hubTrailer = (hub: string): string => `Lynq-Hub: ${hub}`;
export const branchTrailer = (branch: string): string => `Lynq-Branch: ${branch}`;
export const nodeTrailer = (node: Pick<NodeChange, 'form' | 'uid' | 'status'>): string =>
  `Lynq-Node: ${node.form}/${node.uid} ${node.status}`;

/** `web/acme: updated (columns changed: plan) [deployment, config]` */
export function describeNode(node: Pick<NodeChange, 'form' | 'uid' | 'status' | 'reasons' | 'resources'>): string {
  const why = node.reasons.length > 0 ? ` (${node.reasons.join('; ')})` : '';
  const resources = node.resources.length > 0 ? ` [${node.resources.join(', ')}]` : '';
  return `${node.form}/${node.uid}: ${node.status}${why}${resources}`;
}

/** A pull-request table row: `` | `web/acme` | updated | why | resources | ``, with no pipe or line break from the text. */
export function nodeTableRow(key: string, change: string, why: string, resources: string): string {
  return `| \`${key}\` | ${change} | ${cell(why)} | ${cell(resources)} |`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** Whether a message carries the bridge's trailers for this hub (and branch, when given). */
export function isBridgeMessage(message: string, hub: string, branch?: string): boolean {
  const lines = new Set(message.split('\n'));
  return lines.has(hubTrailer(hub)) && (branch === undefined || lines.has(branchTrailer(branch)));
}

/**
 * What a message says about one node (`form/uid`): its body line, else its pull-request
 * table row (a squash merge that kept the description), else its trailer (complete even
 * when the body was shortened). Undefined when the message does not name the node.
 */
export function readNodeLine(message: string, key: string): { change: string; why: string } | undefined {
  const lines = message.split('\n');
  for (const line of lines) {
    if (!line.startsWith(`${key}: `)) continue;
    const match = /^(\S+)(?: \((.*)\))?(?: \[[^\]]*\])?$/.exec(line.slice(key.length + 2));
    if (match) return { change: match[1]!, why: match[2] ?? '' };
  }
  for (const line of lines) {
    const cells = line.split(/(?<!\\)\|/).map((item) => item.trim());
    if (cells[1] === `\`${key}\`` && cells[2] !== undefined)
      return { change: cells[2], why: (cells[3] ?? '').replace(/\\\|/g, '|') };
  }
  const prefix = `Lynq-Node: ${key} `;
  const trailer = lines.find((line) => line.startsWith(prefix));
  if (trailer !== undefined) return { change: trailer.slice(prefix.length).trim(), why: '' };
  return undefined;
}
