import type { KubeObject } from '../kube/resources.ts';
import type { EngineObservation, HealthReader, ObservedResource, ResourcePhase } from './types.ts';

/**
 * Argo CD's Application, read: `status.health.status`, `status.sync.status` and
 * `.revision`, `status.operationState.phase`/`.message`, and `status.resources[]` with
 * their own health (absent for kinds without a health check, and for every resource
 * under Argo CD 3's default `resourceHealthSource: appTree`, which is not a problem).
 */
export const argoHealthReader: HealthReader = { engine: 'argocd', observe: observeApplication };

export function observeApplication(object: KubeObject): EngineObservation {
  const status = record(object.status);
  const health = record(status.health);
  const sync = record(status.sync);
  const operation = record(status.operationState);
  const healthStatus = text(health.status);
  const syncStatus = text(sync.status);
  const operationPhase = text(operation.phase);
  const reported = healthStatus !== undefined || syncStatus !== undefined || operationPhase !== undefined;
  const revision = text(sync.revision) ?? firstText(sync.revisions) ?? text(record(operation.syncResult).revision);
  const resources = Array.isArray(status.resources) ? status.resources.map(observeResource) : undefined;
  const base = { reported, inSync: syncStatus === 'Synced', revision, resources };
  if (operationPhase === 'Failed' || operationPhase === 'Error') {
    return {
      ...base,
      health: 'degraded',
      message: text(operation.message) ?? `the last sync operation ended ${operationPhase}`,
    };
  }
  const message = text(health.message) ?? text(operation.message) ?? describe(healthStatus, syncStatus);
  switch (healthStatus) {
    case 'Healthy':
      return {
        ...base,
        health: operationPhase === 'Running' || operationPhase === 'Terminating' ? 'progressing' : 'healthy',
        message,
      };
    case 'Degraded':
      return { ...base, health: 'degraded', message: degradedMessage(resources) ?? message };
    // Missing: the node's resources are not in the cluster yet; Suspended: paused on purpose. Both wait; the timeout decides.
    case 'Progressing':
    case 'Missing':
    case 'Suspended':
      return { ...base, health: 'progressing', message };
    case undefined:
      return { ...base, health: reported ? 'progressing' : 'unknown', message: reported ? message : 'no status yet' };
    default:
      return { ...base, health: 'unknown', message };
  }
}

function observeResource(item: unknown): ObservedResource {
  const resource = record(item);
  const health = record(resource.health);
  return {
    group: text(resource.group) ?? '',
    kind: text(resource.kind) ?? '',
    name: text(resource.name) ?? '',
    namespace: text(resource.namespace),
    phase: resourceHealth(text(health.status)),
    inSync: text(resource.status) === 'Synced',
    message: text(health.message),
  };
}

function resourceHealth(status: string | undefined): ResourcePhase | undefined {
  switch (status) {
    case 'Healthy':
      return 'Ready';
    case 'Degraded':
      return 'Degraded';
    case 'Missing':
      return 'Pending';
    case undefined:
      return undefined;
    default:
      return 'Progressing';
  }
}

function degradedMessage(resources: ObservedResource[] | undefined): string | undefined {
  const bad = resources?.find((resource) => resource.phase === 'Degraded');
  return bad === undefined ? undefined : `${bad.kind} ${bad.name}: ${bad.message ?? 'Degraded'}`;
}

function describe(health: string | undefined, sync: string | undefined): string {
  return [health !== undefined ? `health ${health}` : undefined, sync !== undefined ? `sync ${sync}` : undefined]
    .filter(Boolean)
    .join(', ');
}

export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function firstText(value: unknown): string | undefined {
  return Array.isArray(value) ? text(value[0]) : undefined;
}
