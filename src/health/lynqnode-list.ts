import type { KubeClient } from '../kube/client.ts';
import { hubSelector, LYNQ_NODE, type KubeObject } from '../kube/resources.ts';
import type { StatusFact, StatusMemo } from './status-memo.ts';
import { ANNOTATION_ROLLOUT_RESUMED } from './types.ts';

/**
 * A hub's LynqNodes as listed (one LIST per namespace), by `<namespace>/<name>`: only what
 * a status write and the rollout gate need (name, uid, resourceVersion, status and the
 * rollout resume annotation), not the spec. `namespaces`: the namespaces listed, so a
 * later user lists only those it lacks. An object listed metadata only (`partial`) has no
 * status: `facts` (the status memo's, loaded before the LIST) tell it when its uid and
 * resourceVersion are the ones a fact names.
 */
export type LynqNodeListing = {
  namespaces: ReadonlySet<string>;
  objects: ReadonlyMap<string, ListedLynqNode>;
  facts?: ReadonlyMap<string, StatusFact>;
};

export type ListedLynqNode = KubeObject & { status?: unknown; partial?: true };

/**
 * With a status memo that knows some LynqNodes of a namespace, that namespace is listed
 * metadata only (PartialObjectMetadataList): a no-op read-back then parses no LynqNode's
 * spec or status, only their metadata, and compares each status with what the memo says
 * it was at that resourceVersion (lynqnode-status.ts).
 */
export async function listLynqNodes(
  kube: KubeClient,
  hub: string,
  namespaces: Iterable<string>,
  memo?: StatusMemo,
): Promise<LynqNodeListing> {
  const wanted = [...new Set(namespaces)].sort();
  const facts =
    memo === undefined || wanted.length === 0 ? new Map<string, StatusFact>() : await memo.load(hub, kube.server);
  const known = new Set([...facts.keys()].map((key) => key.slice(0, key.indexOf('/'))));
  const listed = new Set<string>();
  const objects = new Map<string, ListedLynqNode>();
  for (const namespace of wanted) {
    const keep = (object: KubeObject): ListedLynqNode => {
      // An API that cannot list metadata only answers the whole objects: each item says which it is.
      const partial = object.kind === 'PartialObjectMetadata';
      return {
        metadata: {
          name: object.metadata?.name,
          namespace: object.metadata?.namespace ?? namespace,
          uid: object.metadata?.uid,
          resourceVersion: object.metadata?.resourceVersion,
          annotations: resumeAnnotation(object.metadata?.annotations),
        },
        ...(partial ? { partial: true as const } : { status: object.status }),
      };
    };
    const kept = known.has(namespace)
      ? await kube.listMetadata(LYNQ_NODE, namespace, hubSelector(hub), keep)
      : await kube.list(LYNQ_NODE, namespace, hubSelector(hub), keep);
    for (const object of kept) objects.set(`${object.metadata!.namespace}/${object.metadata!.name ?? ''}`, object);
    listed.add(namespace);
  }
  return { namespaces: listed, objects, facts: facts.size > 0 ? facts : undefined };
}

function resumeAnnotation(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  const marker = annotations?.[ANNOTATION_ROLLOUT_RESUMED];
  return marker === undefined ? undefined : { [ANNOTATION_ROLLOUT_RESUMED]: marker };
}
