import type { Hub } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PreparedHub } from '../plan/render-hub.ts';
import type { Plan } from '../plan/types.ts';
import type { VerifiedOutputs } from '../plan/verified-outputs.ts';
import type { VerifiedStore } from './verified-store.ts';

/** Keep this sync's checked seals for the next one; a failure to write costs only speed. */
export async function rememberSeals(
  store: VerifiedStore | undefined,
  hub: Hub,
  planned: { verified?: VerifiedOutputs; told?: VerifiedOutputs },
  log: Logger,
): Promise<void> {
  // The keys only when they were all read (`verified`); the told changes of every plan, which looks into every node a rollout holds.
  const keys = planned.verified?.changed();
  const told = planned.told?.toldChanged();
  if (store === undefined) return;
  try {
    if (keys !== undefined) await store.save(hub, keys);
    if (told !== undefined) await store.saveTold(hub, told);
  } catch (error) {
    log.warn({ err: messageOf(error) }, 'could not keep the checked seals; the next sync reads every LynqNode');
  }
}

/** No node failed, held, conflicted or waiting: what Git has after the push is every node as rendered. */
export function leftWhole(prepared: PreparedHub, plan: Plan): boolean {
  if (prepared.failures.length > 0 || prepared.unidentified.length > 0) return false;
  return plan.nodes.every(
    (node) =>
      node.status === 'unchanged' || node.status === 'added' || node.status === 'updated' || node.status === 'removed',
  );
}

export async function rememberState(
  store: VerifiedStore | undefined,
  hub: Hub,
  state: string | undefined,
  log: Logger,
): Promise<void> {
  try {
    await store?.saveWhole(hub, state);
  } catch (error) {
    log.warn(
      { err: messageOf(error) },
      'could not keep the state the sync left the hub in; the next sync checks it node by node',
    );
  }
}
