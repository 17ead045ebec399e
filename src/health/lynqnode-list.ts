import type { KubeClient } from '../kube/client.ts';
import { hubSelector, LYNQ_NODE, type KubeObject } from '../kube/resources.ts';
import { ANNOTATION_ROLLOUT_RESUMED } from './types.ts';

/**
 * A hub's LynqNodes as listed (one LIST per namespace), by `<namespace>/<name>`: only what
 * a status write and the rollout gate need (name, resourceVersion, status and the rollout
 * resume annotation), not the spec. `namespaces`: the namespaces listed, so a later user
 * lists only those it lacks.
 */
export type LynqNodeListing = { namespaces: ReadonlySet<string>; objects: ReadonlyMap<string, KubeObject> };

export async function listLynqNodes(kube: KubeClient, hub: string, namespaces: Iterable<string>): Promise<LynqNodeListing> {
  const listed = new Set<string>();
  const objects = new Map<string, KubeObject>();
  for (const namespace of [...new Set(namespaces)].sort()) {
    const kept = await kube.list(
      LYNQ_NODE,
      namespace,
      hubSelector(hub),
      (object): KubeObject => ({
        metadata: {
          name: object.metadata?.name,
          namespace: object.metadata?.namespace ?? namespace,
          resourceVersion: object.metadata?.resourceVersion,
          annotations: resumeAnnotation(object.metadata?.annotations),
        },
        status: object.status,
      }),
    );
    for (const object of kept) objects.set(`${object.metadata!.namespace}/${object.metadata!.name ?? ''}`, object);
    listed.add(namespace);
  }
  return { namespaces: listed, objects };
}

function resumeAnnotation(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  const marker = annotations?.[ANNOTATION_ROLLOUT_RESUMED];
  return marker === undefined ? undefined : { [ANNOTATION_ROLLOUT_RESUMED]: marker };
}
