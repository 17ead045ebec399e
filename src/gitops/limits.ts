import type { Form, FormResource, Hub } from '../config/load.ts';
import { LYNQ_POLICY_DEFAULTS } from '../config/policy-defaults.ts';
import { resolveGitops } from './engine.ts';
import type { ResolvedGitops } from './types.ts';
import { duration } from './flux.ts';

const DEFAULT_TIMEOUT_SECONDS = LYNQ_POLICY_DEFAULTS.timeoutSeconds;

/**
 * Where the hub's engine cannot express a resource's Lynq policy exactly: one note per
 * resource and policy, for `lynq validate`. docs/argocd-and-flux.md lists the same cases. Nothing is
 * said for engine `none` (nothing applies the nodes) or for policies that map exactly.
 */
export function engineLimits(hub: Hub, form: Form): string[] {
  const gitops = resolveGitops(hub);
  if (gitops.engine === 'none') return [];
  const engine = gitops.engine === 'argocd' ? 'Argo CD' : 'Flux';
  const notes: string[] = [];
  for (const resource of form.resources) {
    const limits = gitops.engine === 'argocd' ? argoLimits(resource) : fluxLimits(gitops, form, resource);
    for (const limit of limits)
      notes.push(`hub ${hub.name} (${engine}), form ${form.name}, resource ${resource.id}: ${limit}`);
  }
  return notes;
}

function argoLimits(resource: FormResource): string[] {
  const limits: string[] = [];
  if (resource.creationPolicy === 'Once') {
    limits.push(
      'creationPolicy Once: the file is never rewritten, but Argo CD keeps the object as the file says (selfHeal reverts changes made in the cluster)',
    );
  }
  if (!resource.waitForReady)
    limits.push(
      'waitForReady false: Argo CD waits for every resource of a sync wave to be healthy before the next wave',
    );
  if (resource.timeoutSeconds !== DEFAULT_TIMEOUT_SECONDS) {
    limits.push(
      `timeoutSeconds ${resource.timeoutSeconds}: Argo CD has no per-resource timeout; health read-back marks the node Degraded after it`,
    );
  }
  if (!resource.skipOnDependencyFailure && resource.level > 0) {
    limits.push('skipOnDependencyFailure false: Argo CD applies no later sync wave while an earlier one is unhealthy');
  }
  return limits;
}

function fluxLimits(gitops: ResolvedGitops, form: Form, resource: FormResource): string[] {
  const limits: string[] = [];
  if (resource.ignoreFields.length > 0)
    limits.push('ignoreFields: Flux has no per-field ignore; it re-applies these fields as the file says');
  if (resource.patchStrategy === 'merge')
    limits.push('patchStrategy merge: Flux always applies server-side; there is no client-side merge');
  if (resource.patchStrategy === 'replace') {
    limits.push(
      'patchStrategy replace: Flux recreates the object (force: enabled) only when a change to an immutable field fails; otherwise it applies server-side',
    );
  }
  if (resource.waitForReady && !gitops.flux.wait)
    limits.push('waitForReady: spec.gitops.flux.wait is false, so Flux does not wait for it');
  const levelTimeout = Math.max(
    ...form.resources.filter((other) => other.level === resource.level).map((other) => other.timeoutSeconds),
  );
  const timeout = gitops.flux.timeout ?? duration(levelTimeout);
  if (
    gitops.flux.timeout !== undefined
      ? duration(resource.timeoutSeconds) !== gitops.flux.timeout
      : resource.timeoutSeconds !== levelTimeout
  ) {
    limits.push(
      `timeoutSeconds ${resource.timeoutSeconds}: Flux has one timeout per Kustomization, here ${timeout}; health read-back judges the resource by its own`,
    );
  }
  if (!resource.skipOnDependencyFailure && resource.level > 0) {
    limits.push(
      'skipOnDependencyFailure false: Flux applies a DAG level only once the previous level is ready (dependsOn), for every resource of the level',
    );
  }
  return limits;
}
