import { isAlias, isCollection, isPair, type Document, type LineCounter, type Node } from 'yaml';
import { ConfigError } from '../errors.ts';

/**
 * What a hub or form file may ask of the YAML loader. A file is input: an alias bomb
 * (a billion laughs), an alias to an anchor that does not exist, or thousands of levels
 * of nesting must end as a ConfigError naming the file and line, never as a stack trace
 * or an exhausted heap. Kubernetes manifests, CRD schemas included, stay far below these.
 */
export const YAML_LIMITS = { maxAliasCount: 100, maxDepth: 100 } as const;

/** The document as plain data, within the limits; a ConfigError with file and line otherwise. */
export function toPlainData(doc: Document, lineCounter: LineCounter, file: string): unknown {
  const lineAt = (node: Node | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  // Walked with a stack of our own: the check must not overflow on what it is there to refuse.
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isAlias(node)) {
      if (node.resolve(doc) === undefined)
        throw new ConfigError(`alias *${node.source} has no anchor &${node.source} before it`, {
          file,
          line: lineAt(node),
        });
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth > YAML_LIMITS.maxDepth)
      throw new ConfigError(`nested more than ${YAML_LIMITS.maxDepth} levels deep`, { file, line: lineAt(node) });
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push([item.key, depth + 1], [item.value, depth + 1]);
      } else {
        stack.push([item, depth + 1]);
      }
    }
  }
  try {
    return doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (cause) {
    // The one error toJS throws past the checks above: too many aliases expanded.
    throw new ConfigError(
      `aliases expand to too much data (more than ${YAML_LIMITS.maxAliasCount} per alias): an alias bomb?`,
      { file, line: firstAliasLine(doc, lineCounter) },
      { cause },
    );
  }
}

function firstAliasLine(doc: Document, lineCounter: LineCounter): number | undefined {
  const stack: unknown[] = [doc.contents];
  let first: number | undefined;
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node) && node.range) {
      const line = lineCounter.linePos(node.range[0]).line;
      first = first === undefined ? line : Math.min(first, line);
    } else if (isCollection(node)) {
      for (const item of node.items) stack.push(...(isPair(item) ? [item.key, item.value] : [item]));
    }
  }
  return first;
}
