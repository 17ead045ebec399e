import type { KubeObject } from '../kube/resources.ts';
import { record, text } from './argocd.ts';
import type { EngineObservation, HealthReader } from './types.ts';

/**
 * Flux's Kustomization, read: the `Ready`, `Reconciling`, `Stalled` and `Healthy`
 * conditions, `lastAppliedRevision`, and `status.observedGeneration` against
 * `metadata.generation` (a spec the controller has not seen yet is not applied). Flux
 * lists no per-resource health: a resource follows its Kustomization.
 */
export const fluxHealthReader: HealthReader = { engine: 'flux', observe: observeKustomization };

/** Ready=False reasons that are a wait, not a failure: the previous level is not ready yet. */
const WAITING_REASONS = new Set(['DependencyNotReady', 'Progressing']);

export function observeKustomization(object: KubeObject): EngineObservation {
  const status = record(object.status);
  const conditions = new Map<string, Record<string, unknown>>();
  for (const item of Array.isArray(status.conditions) ? status.conditions : []) {
    const condition = record(item);
    const type = text(condition.type);
    if (type !== undefined) conditions.set(type, condition);
  }
  const ready = conditions.get('Ready');
  const stalled = conditions.get('Stalled');
  const healthy = conditions.get('Healthy');
  const revision = text(status.lastAppliedRevision);
  const generation = typeof object.metadata?.generation === 'number' ? object.metadata.generation : undefined;
  const observed = typeof status.observedGeneration === 'number' ? status.observedGeneration : undefined;
  // A newer spec than the controller last finished with: what it applied is not this spec yet.
  const current = generation === undefined || observed === undefined || observed >= generation;
  const readyStatus = text(ready?.status);
  const base = {
    reported: ready !== undefined || stalled !== undefined,
    revision,
    resources: undefined,
    inSync: current && readyStatus === 'True',
  };
  const says = (condition: Record<string, unknown> | undefined): string =>
    text(condition?.message) ?? text(condition?.reason) ?? '';
  if (text(stalled?.status) === 'True') return { ...base, health: 'degraded', message: says(stalled) };
  if (ready === undefined) return { ...base, health: 'unknown', message: 'no Ready condition yet' };
  if (readyStatus === 'False') {
    if (WAITING_REASONS.has(text(ready.reason) ?? '')) return { ...base, health: 'progressing', message: says(ready) };
    return { ...base, health: 'degraded', message: `${text(ready.reason) ?? 'NotReady'}: ${says(ready)}` };
  }
  if (text(healthy?.status) === 'False')
    return {
      ...base,
      health: 'degraded',
      message: `${text(healthy?.reason) ?? 'HealthCheckFailed'}: ${says(healthy)}`,
    };
  if (readyStatus === 'True' && current) return { ...base, health: 'healthy', message: says(ready) };
  return {
    ...base,
    health: 'progressing',
    message: current
      ? says(conditions.get('Reconciling') ?? ready)
      : `generation ${generation} not reconciled yet (observed ${observed})`,
  };
}
