import type { Form, Hub } from '../config/load.ts';
import { ConfigError, InternalError } from '../errors.ts';
import type { RolloutHealth, RolloutNodeHealth } from '../health/types.ts';
import { formHash } from '../plan/node.ts';
import { templateVariables } from '../plan/render-hub.ts';
import { rolloutOrder } from '../plan/rollout-order.ts';
import type { NodeChange, Plan, RolloutProgress } from '../plan/types.ts';

export type RolloutGateInput = {
  hub: Hub;
  forms: readonly Form[];
  /** Row values by uid (for `orderBy`). */
  values: (uid: string) => Readonly<Record<string, string>> | undefined;
  /** undefined: no cluster configured, so `maxSkew` paces per sync. */
  health: RolloutHealth | undefined;
  /**
   * Render a change the plan left `unrendered` (plan/diff.ts `DeferredRenders.render`, then the
   * object-identity check): asked only for those that get a slot. Needed when the plan has any.
   */
  render?: (node: NodeChange) => NodeChange;
  /** Read what `render` needs of these unrendered changes, at once (plan/diff.ts `DeferredRenders.prepare`): asked before they are rendered, a slot's worth at a time. */
  prepare?: (nodes: readonly NodeChange[]) => Promise<void>;
};

/**
 * The rollout gate, between planning and routing, the second gate after the deletion
 * guard. For each form with `spec.rollout.maxSkew` > 0, its gated changes (form, hub
 * settings and bridge changes; row changes and new rows with `gateRowChanges`; never
 * removals) take the free slots in rollout order; the rest become `waiting` and keep
 * exactly what Git has. A slot is taken by a node of the form that is on the form's
 * current version and not Ready yet; a node Degraded, or not Ready past
 * `progressDeadlineSeconds` since its commit, halts the form (no slot) until the form
 * changes again (the node is then off the current version) or the failure is resumed.
 * Everything is derived from the plan (which nodes Git has at the current version) and
 * the read-back: a restarted process continues the same rollout.
 *
 * The plan leaves most gated changes unrendered (told from their LynqNodes; `deferrable`
 * says which): the gate renders them in rollout order only as slots are taken, so a step
 * costs the slot's worth of renders. A change that, rendered, turns out not gated (its
 * render failed, or it is conflicted) takes no slot, as if it had been rendered by the
 * plan: the next one in order is rendered instead, and the same nodes are picked.
 *
 * This module writes the waiting wording and is the only one that knows it.
 */
export async function gateRollout(plan: Plan, input: RolloutGateInput): Promise<Plan> {
  const waiting = new Map<NodeChange, string>();
  const rendered = new Map<NodeChange, NodeChange>();
  const rollouts: RolloutProgress[] = [];
  for (const form of input.forms) {
    const rollout = form.spec.rollout;
    if (rollout === undefined || rollout.maxSkew === 0) continue;
    checkOrderBy(input.hub, form);
    const nodes = plan.nodes.filter((node) => node.form === form.name);
    const gated = nodes.filter((node) => isGated(node, rollout.gateRowChanges));
    if (gated.length === 0 && input.health === undefined) continue;
    const resumedMarker = `sha256:${formHash(form)}`;
    let done = 0;
    let inFlight = 0;
    const failed: string[] = [];
    // Nodes on the current version: Git has them as this sync would render them.
    for (const node of nodes) {
      if (node.status !== 'unchanged') continue;
      const health = input.health?.get(`${node.form}/${node.uid}`);
      if (input.health === undefined || health?.phase === 'Ready') {
        done++;
        continue;
      }
      if (health !== undefined && health.resumedAt === resumedMarker) continue;
      if (health !== undefined && isFailure(health, rollout.progressDeadlineSeconds)) failed.push(node.uid);
      else inFlight++;
    }
    const halted = failed.length > 0;
    const free = halted ? 0 : Math.max(0, rollout.maxSkew - inFlight);
    const ordered = rolloutOrder(gated, { canary: rollout.canary, orderBy: rollout.orderBy }, input.values);
    // Take the slots in order; an unrendered change is rendered now, and counts only if it is still a gated one.
    let changing = 0;
    let next = 0;
    let notGated = 0;
    while (next < ordered.length && changing < free) {
      // What the free slots can take, read at once; more only when some turn out not gated.
      const batch = ordered.slice(next, next + (free - changing));
      await input.prepare?.(batch.filter((node) => node.unrendered !== undefined));
      for (const node of batch) {
        const result = node.unrendered === undefined ? node : renderFor(node, input);
        if (result !== node) rendered.set(node, result);
        next++;
        if (isGated(result, rollout.gateRowChanges)) changing++;
        else notGated++;
      }
    }
    const progress: RolloutProgress = {
      form: form.name,
      total: done + inFlight + failed.length + gated.length - notGated,
      done,
      inFlight,
      changing,
      waiting: ordered.length - next,
      failed,
      halted,
      paced: input.health === undefined ? 'per-sync' : 'health',
    };
    rollouts.push(progress);
    const why = waitingReason(progress);
    for (const node of ordered.slice(next)) waiting.set(node, why);
  }
  const nodes = plan.nodes.map(
    (node) => rendered.get(node) ?? (waiting.has(node) ? toWaiting(node, waiting.get(node)!) : node),
  );
  const left = nodes.find((node) => node.unrendered !== undefined);
  if (left !== undefined)
    throw new InternalError(
      `hub ${plan.hub}: node ${left.form}/${left.uid} was left unrendered for a rollout gate that did not pace it`,
      { hub: plan.hub, form: left.form, uid: left.uid },
    );
  if (rollouts.length === 0) return plan;
  return { ...plan, nodes, rendered: plan.rendered + rendered.size, rollouts };
}

function renderFor(node: NodeChange, input: RolloutGateInput): NodeChange {
  if (input.render === undefined)
    throw new InternalError(
      `hub ${node.hub}: node ${node.form}/${node.uid} is unrendered and the rollout gate was given no renderer`,
      { hub: node.hub, form: node.form, uid: node.uid },
    );
  return input.render(node);
}

/**
 * Which changes the plan may leave unrendered for the gate (plan/diff.ts `defer`): a paced
 * form's gated changes. Undefined when no form is paced, so the plan tells no change ahead.
 */
export function deferrable(forms: readonly Form[]): ((node: NodeChange) => boolean) | undefined {
  const paced = new Map(
    forms
      .filter((form) => (form.spec.rollout?.maxSkew ?? 0) > 0)
      .map((form) => [form.name, form.spec.rollout!.gateRowChanges]),
  );
  if (paced.size === 0) return undefined;
  return (node) => paced.has(node.form) && isGated(node, paced.get(node.form)!);
}

/** Whether the gate paces this change: the mass changes always, row changes and new rows when asked, removals never. */
export function isGated(node: NodeChange, gateRowChanges: boolean): boolean {
  if (node.removal !== undefined) return false;
  if (node.status === 'added') return gateRowChanges;
  if (node.status !== 'updated') return false;
  if (node.causes.some((cause) => cause === 'form' || cause === 'hub' || cause === 'bridge')) return true;
  return gateRowChanges && node.causes.includes('row');
}

/** Degraded by the engine, or not Ready past the progress deadline since its commit (the resource timeout alone does not halt). */
function isFailure(health: RolloutNodeHealth, deadlineSeconds: number): boolean {
  if (health.phase === 'Degraded' && health.reason !== 'Timeout') return true;
  return (
    health.phase !== 'Ready' && health.sinceCommitSeconds !== undefined && health.sinceCommitSeconds > deadlineSeconds
  );
}

export function waitingReason(progress: RolloutProgress): string {
  const base = `waiting for rollout slot, ${progress.done} of ${progress.total} done`;
  return progress.halted
    ? `${base}; rollout halted: ${progress.failed.join(', ')} failed (lynq rollout resume to continue)`
    : base;
}

/** A waiting node keeps exactly the files Git has: no writes, no deletes. */
function toWaiting(node: NodeChange, why: string): NodeChange {
  const { unrendered: _, ...rest } = node;
  return { ...rest, status: 'waiting', reasons: [...node.reasons, why], writes: new Map(), deletes: [], resources: [] };
}

/** `orderBy` must be a column the hub maps, or every order would silently be by uid. */
export function checkOrderBy(hub: Hub, form: Form): void {
  const orderBy = form.spec.rollout?.orderBy;
  if (orderBy === undefined) return;
  // The row's variables (a form's own names, hubId and templateRef, are one value for every row).
  const names = templateVariables(hub).filter((name) => name !== 'hubId' && name !== 'templateRef');
  if (!names.includes(orderBy)) {
    throw new ConfigError(
      `spec.rollout.orderBy names ${JSON.stringify(orderBy)}, which hub ${hub.name} does not map (it maps ${names.join(', ')})`,
      {
        hub: hub.name,
        form: form.name,
        file: form.file,
        field: 'spec.rollout.orderBy',
      },
    );
  }
}

/** Whether a sync needs the cluster's health for this plan: some paced form has a change to gate. */
export function needsRolloutHealth(plan: Plan, forms: readonly Form[]): boolean {
  const gated = deferrable(forms);
  return gated !== undefined && plan.nodes.some(gated);
}

/** The waiting note per paced form with waiting nodes, for a pull request's body. */
export function waitingNotes(plan: Plan): string[] {
  return (plan.rollouts ?? [])
    .filter((rollout) => rollout.waiting > 0)
    .map((rollout) => `${rollout.form}: ${rollout.waiting} ${waitingReason(rollout)}`);
}
