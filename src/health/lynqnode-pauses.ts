import type { KubeClient } from '../kube/client.ts';
import { hubSelector, LYNQ_NODE, type KubeObject } from '../kube/resources.ts';
import { isActive } from '../sources/values.ts';
import { ANNOTATION_PAUSED, ANNOTATION_PAUSED_REASON } from './types.ts';

/** A LynqNode that carries the pause annotation: its name (`<uid>-<form>`) and the reason it gives, if any. */
export type PausedLynqNode = { name: string; namespace: string; reason: string | undefined };

/** Longer reasons are cut: the reason is an operator's note, and it travels into conditions and notes. */
const MAX_REASON = 200;

/**
 * The hub's LynqNodes that carry `lynq.sh/paused` with a truthy value, by name: one LIST of
 * the hub's namespace, metadata only (annotations are all it needs). A cluster that cannot
 * be read is a KubeError (the client's), never an empty answer: a hub that asked for
 * pausing by annotation must not sync a node someone paused because the list failed.
 */
export async function listPausedLynqNodes(
  kube: KubeClient,
  hub: string,
  namespace: string,
): Promise<Map<string, PausedLynqNode>> {
  const keep = (object: KubeObject): PausedLynqNode | undefined => {
    const annotations = object.metadata?.annotations;
    const name = object.metadata?.name;
    if (
      name === undefined ||
      annotations === undefined ||
      !isActive(String(annotations[ANNOTATION_PAUSED] ?? '').trim())
    )
      return undefined;
    return {
      name,
      namespace: object.metadata?.namespace ?? namespace,
      reason: reasonOf(annotations[ANNOTATION_PAUSED_REASON]),
    };
  };
  const listed = await kube.listMetadata(LYNQ_NODE, namespace, hubSelector(hub), keep);
  const paused = new Map<string, PausedLynqNode>();
  for (const node of listed) if (node !== undefined) paused.set(node.name, node);
  return paused;
}

/** One line, trimmed and bounded: an annotation may hold anything. */
function reasonOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const line = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
}
