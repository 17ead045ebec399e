import type { KubeObject } from '../kube/resources.ts';

/** One phase per node, as `lynq status`, the LynqNode status and the status table show it. */
export type NodePhase = 'Ready' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';
export const NODE_PHASES: readonly NodePhase[] = ['Ready', 'Progressing', 'Degraded', 'Missing', 'Unknown'];

/** One resource of a node, as far as the engine tells. */
export type ResourcePhase = 'Ready' | 'Progressing' | 'Degraded' | 'Pending';

/**
 * What the engine says about one of its objects (an Application, a Kustomization),
 * reduced to what the phase rules need. Built by an engine's reader from the object's
 * status; nothing else reads engine status.
 */
export type EngineObservation = {
  /** False when the object has no status yet: the engine has not looked at it. */
  reported: boolean;
  /** healthy: up and serving; progressing: on its way; degraded: unhealthy, a failed operation, stalled; unknown: the engine cannot tell. */
  health: 'healthy' | 'progressing' | 'degraded' | 'unknown';
  /** The engine's own judgement that the cluster is what the revision says (Argo CD `Synced`; Flux: applied at the current generation). */
  inSync: boolean;
  /** The commit the engine last applied (a full sha) or its raw revision text when that is not a sha. */
  revision: string | undefined;
  /** The engine's most telling words (a condition or operation message). */
  message: string;
  /** Per-resource health when the engine reports it (Argo CD's status.resources[]); undefined otherwise. */
  resources: ObservedResource[] | undefined;
};

export type ObservedResource = {
  group: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  phase: ResourcePhase | undefined;
  inSync: boolean;
  message: string | undefined;
};

/**
 * An engine's read side: which kind its objects are and how to read one object's status.
 * Argo CD and Flux are the two; the read-back lists their objects and asks the reader.
 */
export interface HealthReader {
  readonly engine: 'argocd' | 'flux';
  observe(object: KubeObject): EngineObservation;
}

/** One node's health as the rollout gate reads it (from the health read-back). */
export type RolloutNodeHealth = {
  phase: NodePhase;
  /** The phase rule that decided it (`Timeout`: the resource timeout, which the rollout leaves to progressDeadlineSeconds). */
  reason: string;
  /** Seconds since the node's last commit; undefined when Git does not say. */
  sinceCommitSeconds: number | undefined;
  /** The form hash (`sha256:…`) at which `lynq rollout resume` accepted this node's failure (its LynqNode's annotation). */
  resumedAt?: string;
};

/** Health by `<form>/<uid>`, for the nodes Git has at the head the read-back saw. */
export type RolloutHealth = ReadonlyMap<string, RolloutNodeHealth>;

/** The LynqNode annotation `lynq rollout resume` writes on a failed node: the form hash its failure was accepted at. */
export const ANNOTATION_ROLLOUT_RESUMED = 'lynq.sh/rollout-resumed';

/** The LynqNode annotation that pauses its node, for a hub with `spec.gitops.pauseFromLynqNode` (truthy as `activate` is read: `"true"`, `"yes"`, `"1"`…). */
export const ANNOTATION_PAUSED = 'lynq.sh/paused';
/** Why the node is paused, in the operator's words (optional); shown in the Paused condition and `lynq status`. */
export const ANNOTATION_PAUSED_REASON = 'lynq.sh/paused-reason';

/** Why a sync left a node paused: the words for its Paused condition, and what paused it (the condition's reason says which). */
export type PauseFact = { why: string; by: 'row' | 'annotation' };
