import type { Config } from '../config/load.ts';
import { isLynqError, messageOf } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { findClusterAccess } from '../kube/access.ts';
import { checkOrderBy } from '../sync/rollout-gate.ts';

/**
 * For `lynq validate`: an `orderBy` the hub does not map is a problem; a `maxSkew` that
 * cannot read health (the hub has no engine, or no cluster is configured here) paces per
 * sync, which is a note, so nobody mistakes it for a health-gated rollout.
 */
export function rolloutChecks(config: Config, env: NodeJS.ProcessEnv): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const cluster = findClusterAccess({ env, useHomeConfig: false }) !== undefined;
  for (const form of config.forms) {
    const rollout = form.spec.rollout;
    if (rollout === undefined || rollout.maxSkew === 0) continue;
    const hub = config.hubs.get(form.spec.hubId);
    // A form whose hub is missing is already a problem of its own.
    if (hub === undefined) continue;
    try {
      checkOrderBy(hub, form);
    } catch (error) {
      if (!isLynqError(error)) throw error;
      problems.push(messageOf(error));
    }
    const why =
      resolveGitops(hub).engine === 'none'
        ? `hub ${hub.name} has no engine to read health from`
        : !cluster
          ? 'no cluster is configured here (KUBECONFIG, --kubeconfig on lynq sync, or in-cluster)'
          : undefined;
    if (why !== undefined)
      notes.push(
        `hub ${hub.name}, form ${form.name}: spec.rollout.maxSkew ${rollout.maxSkew} paces per sync: ${why}, so each sync changes at most ${rollout.maxSkew} of its nodes, whatever their health`,
      );
  }
  return { problems, notes };
}
