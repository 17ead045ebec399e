import type { EngineObservation, NodePhase, ObservedResource, ResourcePhase } from './types.ts';

/**
 * The phase rules, in this one place (the phase table of docs/health.md is this function):
 *
 * | phase       | when |
 * | Missing     | an engine object of the node is not in the cluster |
 * | Unknown     | the engine reports nothing yet (no status), or health it cannot tell |
 * | Degraded    | unhealthy, a failed operation, stalled; or not Ready after the node's timeout since its last commit |
 * | Ready       | every engine object has applied the node's last commit and is healthy |
 * | Progressing | anything else within the timeout: not applied yet, or applied and still progressing |
 *
 * "Applied" means the revision the engine reports contains the node's last commit (git
 * ancestry), so a shared branch moving on for other nodes changes nothing, and healthy at
 * an older revision is not Ready.
 */
export type PhaseInput = {
  /** One per engine object of the node, in the LynqNode's order; undefined: not in the cluster. */
  objects: ReadonlyArray<{ observation: EngineObservation | undefined; applied: boolean }>;
  /** Seconds since the node's last commit; undefined when Git does not say (the timeout never fires). */
  sinceCommitSeconds: number | undefined;
  /** The largest timeoutSeconds of the node's resources. */
  timeoutSeconds: number;
};

export type PhaseVerdict = { phase: NodePhase; applied: boolean; reason: string; message: string };

export function nodePhase(input: PhaseInput): PhaseVerdict {
  const applied =
    input.objects.length > 0 && input.objects.every((object) => object.applied && object.observation?.inSync === true);
  if (input.objects.length === 0)
    return {
      phase: 'Missing',
      applied,
      reason: 'NoEngineObject',
      message: 'the node names no Application or Kustomization',
    };
  const missing = input.objects.filter((object) => object.observation === undefined);
  if (missing.length > 0)
    return {
      phase: 'Missing',
      applied,
      reason: 'EngineObjectMissing',
      message: 'not in the cluster yet (has the parent object been applied with lynq bootstrap?)',
    };
  const observations = input.objects.map((object) => object.observation!);
  const degraded = observations.find((observation) => observation.health === 'degraded');
  if (degraded !== undefined)
    return { phase: 'Degraded', applied, reason: 'EngineDegraded', message: degraded.message };
  const silent = observations.find((observation) => !observation.reported || observation.health === 'unknown');
  if (silent !== undefined)
    return {
      phase: 'Unknown',
      applied,
      reason: 'EngineSilent',
      message: silent.message || 'the engine has not reported on this node yet',
    };
  if (applied && observations.every((observation) => observation.health === 'healthy'))
    return { phase: 'Ready', applied, reason: 'Reconciled', message: 'applied and healthy' };
  const waiting = observations.find((observation) => observation.health !== 'healthy');
  const why = !applied
    ? 'the engine has not applied the last commit yet'
    : `applied, still progressing${waiting?.message ? `: ${waiting.message}` : ''}`;
  if (input.sinceCommitSeconds !== undefined && input.sinceCommitSeconds > input.timeoutSeconds) {
    return {
      phase: 'Degraded',
      applied,
      reason: 'Timeout',
      message: `not ready ${input.timeoutSeconds}s after its last commit: ${why}`,
    };
  }
  return { phase: 'Progressing', applied, reason: applied ? 'Progressing' : 'NotApplied', message: why };
}

/**
 * A resource's phase. Where the engine lists the node's resources (Argo CD), a resource
 * it does not list is Pending; one with a health of its own has that health (Ready only
 * once in sync at an applied revision); one without (kinds with no health check, Argo CD
 * 3's appTree mode) is Ready once in sync at an applied revision. Where the engine does
 * not list them (Flux), a resource follows the Kustomization that applies it.
 */
export function resourcePhase(
  parent: { observation: EngineObservation | undefined; applied: boolean },
  own: ObservedResource | undefined,
): ResourcePhase {
  const observation = parent.observation;
  if (observation === undefined || !observation.reported) return 'Pending';
  if (observation.resources !== undefined) {
    if (own === undefined) return 'Pending';
    const settled = parent.applied && own.inSync;
    if (own.phase === undefined) return settled ? 'Ready' : 'Progressing';
    if (own.phase === 'Ready') return settled ? 'Ready' : 'Progressing';
    return own.phase;
  }
  if (observation.health === 'degraded') return 'Degraded';
  return parent.applied && observation.inSync && observation.health === 'healthy' ? 'Ready' : 'Progressing';
}
