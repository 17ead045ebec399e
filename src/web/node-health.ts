import { nodeStatus } from '../health/lynqnode-status.ts';
import type { NodeHealth } from '../health/read-back.ts';
import type { StatusFact } from '../health/status-memo.ts';
import { NODE_PHASES, type NodePhase } from '../health/types.ts';

/** A node's health as a page shows it, whether from the last read-back or from the status memo. */
export type ShownHealth = {
  phase: NodePhase;
  reason: string;
  message: string;
  appliedRevision: string | undefined;
  resources: { desired: number; ready: number; failed: number } | undefined;
  resourcePhases: Array<{
    id: string;
    kind: string;
    name: string;
    namespace?: string;
    phase: string;
    message?: string;
  }>;
  /** The LynqNode conditions the bridge writes (Ready, Progressing, Degraded), without their transition times. */
  conditions: Array<{ type: string; status: string; reason: string; message: string }>;
  pullRequest: { number: number; state: string } | undefined;
};

const SHOWN_CONDITIONS = new Set(['Ready', 'Progressing', 'Degraded']);

/** From a read-back's NodeHealth: its status as the read-back writes it on the LynqNode. */
export function fromReadBack(node: NodeHealth): ShownHealth {
  const status = nodeStatus(node, {}, '', undefined);
  return {
    phase: node.phase,
    reason: node.reason,
    message: node.message,
    appliedRevision: typeof status.appliedRevision === 'string' ? status.appliedRevision : undefined,
    resources: node.resources,
    resourcePhases: node.resourcePhases,
    conditions: conditionsOf(status.conditions),
    pullRequest: node.pullRequest,
  };
}

/** From a status memo fact (the status the bridge last wrote on the LynqNode, as JSON); undefined when it does not read as one. */
export function fromStatusFact(fact: StatusFact): ShownHealth | undefined {
  let status: Record<string, unknown>;
  try {
    status = JSON.parse(fact.owned) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const phase = NODE_PHASES.find((item) => item === status.phase);
  if (phase === undefined) return undefined;
  const conditions = conditionsOf(status.conditions);
  // The condition that holds says why; Ready's message when none does.
  const why =
    conditions.find((condition) => condition.status === 'True') ??
    conditions.find((condition) => condition.type === 'Ready');
  const git = (status.git ?? {}) as { pullRequest?: { number?: unknown; state?: unknown } };
  const count = (value: unknown): number => (typeof value === 'number' ? value : 0);
  return {
    phase,
    reason: why?.reason ?? '',
    message: why?.message ?? '',
    appliedRevision: typeof status.appliedRevision === 'string' ? status.appliedRevision : undefined,
    resources:
      typeof status.desiredResources === 'number'
        ? {
            desired: count(status.desiredResources),
            ready: count(status.readyResources),
            failed: count(status.failedResources),
          }
        : undefined,
    resourcePhases: Array.isArray(status.resourcePhases)
      ? (status.resourcePhases as ShownHealth['resourcePhases'])
      : [],
    conditions,
    pullRequest:
      typeof git.pullRequest?.number === 'number'
        ? { number: git.pullRequest.number, state: String(git.pullRequest.state ?? '') }
        : undefined,
  };
}

/**
 * The status memo's facts by `<form>/<uid>`: a fact's key is the LynqNode's
 * `<namespace>/<uid>-<form>`, so the form is the longest of the hub's form names it ends in.
 */
export function memoHealth(facts: ReadonlyMap<string, StatusFact>, forms: readonly string[]): Map<string, ShownHealth> {
  const byLength = [...forms].sort((a, b) => b.length - a.length);
  const out = new Map<string, ShownHealth>();
  for (const [key, fact] of facts) {
    const name = key.slice(key.indexOf('/') + 1);
    const form = byLength.find((candidate) => name.endsWith(`-${candidate}`) && name.length > candidate.length + 1);
    const shown = form === undefined ? undefined : fromStatusFact(fact);
    if (form !== undefined && shown !== undefined)
      out.set(`${form}/${name.slice(0, name.length - form.length - 1)}`, shown);
  }
  return out;
}

function conditionsOf(value: unknown): ShownHealth['conditions'] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (item): item is Record<string, unknown> =>
        typeof item === 'object' &&
        item !== null &&
        SHOWN_CONDITIONS.has(String((item as Record<string, unknown>).type)),
    )
    .map((item) => ({
      type: String(item.type),
      status: String(item.status ?? ''),
      reason: String(item.reason ?? ''),
      message: String(item.message ?? ''),
    }));
}
