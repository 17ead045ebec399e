import type { FormResource } from '../config/load.ts';

export const ANNOTATION_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
export const ANNOTATION_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
export const ANNOTATION_FLUX_PRUNE = 'kustomize.toolkit.fluxcd.io/prune';
export const ANNOTATION_FLUX_FORCE = 'kustomize.toolkit.fluxcd.io/force';
export const ANNOTATION_FLUX_SSA = 'kustomize.toolkit.fluxcd.io/ssa';

type PolicyFields = Pick<FormResource, 'level' | 'creationPolicy' | 'deletionPolicy' | 'patchStrategy'>;

/**
 * The annotations that give a resource's Lynq policies their meaning in Argo CD and
 * Flux. They are rendered whatever engine the hub uses (each engine ignores the other's),
 * so switching engines does not rewrite every file, and a resource carries them from
 * its first render: a Retain resource must already say so when its node is removed.
 *
 * - `dependIds` level n > 0 → `argocd.argoproj.io/sync-wave: "n"` (Argo CD waits for
 *   health between waves; Flux gets per-level Kustomizations instead).
 * - `deletionPolicy: Retain` → Argo CD `Prune=false,Delete=false`, Flux `prune: disabled`.
 * - `patchStrategy: apply` → `ServerSideApply=true`; `replace` → `Replace=true` and Flux
 *   `force: enabled` (Flux always applies server-side; force recreates on immutable
 *   changes); `merge` → neither engine's default needs an annotation.
 * - `creationPolicy: Once` → Flux `ssa: IfNotPresent` (create, never update); Argo CD has
 *   no equivalent, the bridge simply never rewrites the file.
 *
 * `existing` are the manifest's own annotations: sync options a form sets itself are
 * kept, and the bridge's are added after them.
 */
export function policyAnnotations(
  resource: PolicyFields,
  existing: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (resource.level > 0) out[ANNOTATION_SYNC_WAVE] = String(resource.level);
  const options: string[] = [];
  if (resource.deletionPolicy === 'Retain') options.push('Prune=false', 'Delete=false');
  if (resource.patchStrategy === 'apply') options.push('ServerSideApply=true');
  if (resource.patchStrategy === 'replace') options.push('Replace=true');
  if (options.length > 0) out[ANNOTATION_SYNC_OPTIONS] = mergeOptions(existing[ANNOTATION_SYNC_OPTIONS], options);
  if (resource.deletionPolicy === 'Retain') out[ANNOTATION_FLUX_PRUNE] = 'disabled';
  if (resource.patchStrategy === 'replace') out[ANNOTATION_FLUX_FORCE] = 'enabled';
  if (resource.creationPolicy === 'Once') out[ANNOTATION_FLUX_SSA] = 'IfNotPresent';
  return out;
}

/** The form's own options first, then the bridge's; an option the form set (by name) is not repeated. */
function mergeOptions(own: string | undefined, ours: readonly string[]): string {
  if (own === undefined) return ours.join(',');
  const merged = own
    .split(',')
    .map((option) => option.trim())
    .filter((option) => option !== '');
  const names = new Set(merged.map((option) => option.split('=')[0]));
  for (const option of ours) if (!names.has(option.split('=')[0])) merged.push(option);
  return merged.join(',');
}
