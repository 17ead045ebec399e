import { InternalError } from '../errors.ts';
import { compareStrings } from './canonical-yaml.ts';
import { sha256 } from './hash.ts';

/**
 * The LynqNode's seal over everything the bridge wrote for its node. A later sync that
 * finds the node's input hash unchanged and the seal intact knows that rendering the node
 * again would give the very bytes Git has, and skips rendering it: at 10,000 nodes that
 * is most of a no-op sync. Anything else (an edit to any file of the node, this one
 * included, a file added to or removed from the folder, a LynqNode from before the seal)
 * breaks the seal, and the node is rendered and compared as usual.
 *
 * The seal is `sha256:<hex>` of the node's other files (name and blob id, sorted), its
 * apps file (path and blob id), and the LynqNode's own text with the seal's value zeroed.
 */
export const ANNOTATION_OUTPUT_HASH = 'lynq.sh/output-hash';

/** What the seal's value is while the LynqNode is hashed: same length, so the text is otherwise byte-identical. */
export const UNSEALED = `sha256:${'0'.repeat(64)}`;

/** A node's files other than its LynqNode (name relative to the node folder → blob id), and its apps file. */
export type NodeOutput = {
  files: Iterable<readonly [string, string]>;
  app: { path: string; blob: string } | undefined;
};

/** The LynqNode text, written with `UNSEALED` as the seal, with the real seal put in. */
export function seal(unsealedText: string, output: NodeOutput): string {
  const at = unsealedText.indexOf(UNSEALED_LINE);
  if (at < 0) throw new InternalError('the LynqNode has no unsealed output-hash annotation to seal');
  return (
    unsealedText.slice(0, at) +
    sealLine(outputHash(unsealedText, output)) +
    unsealedText.slice(at + UNSEALED_LINE.length)
  );
}

/**
 * The LynqNode's input hash when its seal matches the node's files in Git (so this text
 * and those files are what the bridge wrote from that input); undefined otherwise.
 */
export function sealedInputHash(text: string, output: NodeOutput): string | undefined {
  const sealed = SEAL.exec(text);
  const input = INPUT_HASH.exec(text);
  if (sealed === null || input === null) return undefined;
  const unsealed = text.slice(0, sealed.index) + UNSEALED_LINE + text.slice(sealed.index + sealed[0].length);
  return outputHash(unsealed, output) === sealed[1] ? input[1] : undefined;
}

function outputHash(unsealedText: string, output: NodeOutput): string {
  return `sha256:${sha256(`${outputLines(output)}lynqnode\n${unsealedText}`)}`;
}

/** The files and apps file as text, one line each, in a fixed order. */
export function outputLines(output: NodeOutput): string {
  const lines = [...output.files].map(([name, blob]) => `file ${name} ${blob}\n`).sort(compareStrings);
  if (output.app !== undefined) lines.push(`app ${output.app.path} ${output.app.blob}\n`);
  return lines.join('');
}

// The LynqNode is canonical YAML written by the bridge: its annotations sit at four
// spaces under metadata. A text that differs in layout fails the seal and is re-rendered.
const sealLine = (value: string): string => `\n    ${ANNOTATION_OUTPUT_HASH}: ${value}\n`;
const UNSEALED_LINE = sealLine(UNSEALED);
const SEAL = /\n {4}lynq\.sh\/output-hash: (sha256:[0-9a-f]{64})\n/;
const INPUT_HASH = /\n {4}lynq\.sh\/input-hash: sha256:([0-9a-f]{64})\n/;
