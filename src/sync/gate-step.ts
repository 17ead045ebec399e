import type { Form, Hub } from '../config/load.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { Logger } from '../logger.ts';
import { failDuplicateObjects } from '../plan/object-identity.ts';
import { countByStatus, type NodeChange, type Plan } from '../plan/types.ts';
import type { HubRow } from '../sources/rows.ts';
import { gateDeletions } from './deletion-guard.ts';
import { rememberSeals } from './hub-memory.ts';
import type { PlannedHub } from './plan-step.ts';
import { gateRollout, needsRolloutHealth } from './rollout-gate.ts';
import type { GateHealth, SyncDeps } from './run-types.ts';

export type GateInput = {
  hub: Hub;
  forms: readonly Form[];
  rows: readonly HubRow[];
  repo: ManifestsRepo;
  root: string;
  planned: PlannedHub;
  deps: SyncDeps;
  allowDeletions: boolean;
  log: Logger;
};

/**
 * The gate step: the deletion guard, the check that no two nodes render one object, the
 * rollout gate, and the cluster's health it read (if it read any). A function of its own so that what the object check builds (an entry per
 * rendered object: 500,000 in a first sync of 100,000 nodes) is freed before the commit,
 * not kept alive by the attempt's scope while it publishes.
 */
export async function gatePlan(input: GateInput): Promise<{ plan: Plan; health: GateHealth | undefined }> {
  const { hub, forms, repo, planned, deps, log } = input;
  const guarded = gateDeletions(planned.plan, {
    maxDeletePercent: hub.spec.deletionGuard.maxDeletePercent,
    allowDeletions: input.allowDeletions,
  });
  const checked = await failDuplicateObjects(
    guarded,
    planned.existing,
    (ids) => repo.readBlobs(ids),
    input.root,
    hub.spec.kindScopes,
  );
  const gateHealth =
    deps.rolloutHealth !== undefined && (deps.rolloutStatus === true || needsRolloutHealth(checked.plan, forms))
      ? await deps.rolloutHealth(hub, repo, planned.head, deps.signal)
      : undefined;
  // Asked only by a paced form's gate: a no-op sync of 100,000 rows builds no map of them.
  let values: Map<string, HubRow['values']> | undefined;
  const valuesOf = (uid: string) => (values ??= new Map(input.rows.map((row) => [row.uid, row.values]))).get(uid);
  const render = (node: NodeChange) => checked.check(planned.deferred.render(node));
  const plan = await gateRollout(checked.plan, {
    hub,
    forms,
    values: valuesOf,
    health: gateHealth?.health,
    render,
    prepare: (nodes) => planned.deferred.prepare(nodes),
  });
  if (plan.rollouts !== undefined)
    log.info(
      { rendered: plan.rendered - planned.plan.rendered, waiting: countByStatus(plan.nodes).waiting },
      'rollout gate',
    );
  // The nodes the gate rendered for its slots hold their seals too.
  if (plan.rendered > planned.plan.rendered) await rememberSeals(deps.verifiedStore, hub, planned, log);
  return { plan, health: gateHealth };
}
