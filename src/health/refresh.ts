import { messageOf } from '../errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { ARGO_APPLICATION, FLUX_KUSTOMIZATION, type KubeResource } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';

export type EngineObjectRef = { apiVersion: string; kind: string; name: string; namespace: string };

/** The annotation each engine reads as "look again now", and its value. */
function nudge(kind: string, now: number): { resource: KubeResource; annotations: Record<string, string> } | undefined {
  if (kind === 'Application')
    return { resource: ARGO_APPLICATION, annotations: { 'argocd.argoproj.io/refresh': 'normal' } };
  if (kind === 'Kustomization')
    return {
      resource: FLUX_KUSTOMIZATION,
      annotations: { 'reconcile.fluxcd.io/requestedAt': new Date(now).toISOString() },
    };
  return undefined;
}

/**
 * `spec.gitops.refresh: true`: after a push, ask the engine to apply the changed nodes
 * now rather than at its next poll: Argo CD's `argocd.argoproj.io/refresh: normal` on
 * their Applications, Flux's `reconcile.fluxcd.io/requestedAt` on their Kustomizations
 * (a merge patch of the annotation only). An object not in the cluster yet is skipped;
 * a refusal is reported, and changes nothing that was published.
 */
export async function nudgeEngines(
  kube: KubeClient,
  objects: readonly EngineObjectRef[],
  options: { clock: () => number; logger: Logger },
): Promise<{ nudged: number; skipped: number; failed: string[] }> {
  const out = { nudged: 0, skipped: 0, failed: [] as string[] };
  for (const object of objects) {
    const what = nudge(object.kind, options.clock());
    if (what === undefined) continue;
    try {
      const outcome = await kube.mergePatch(
        what.resource,
        object.namespace,
        object.name,
        { metadata: { annotations: what.annotations } },
        { status: false },
      );
      if (outcome === 'patched') out.nudged++;
      else out.skipped++;
    } catch (error) {
      out.failed.push(`${object.kind} ${object.namespace}/${object.name}: ${messageOf(error)}`);
      options.logger.warn({ kind: object.kind, name: object.name, err: messageOf(error) }, 'engine not nudged');
    }
  }
  return out;
}
