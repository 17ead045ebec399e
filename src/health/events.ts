import os from 'node:os';
import { isLynqError, messageOf } from '../errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { EVENT } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';
import { sha256 } from '../render/hash.ts';
import type { NodePhase } from './types.ts';

/**
 * Kubernetes Events on LynqNodes (events.k8s.io/v1), so `kubectl describe lynqnode` and
 * `kubectl get events` tell what the metrics tell: a node turning Degraded or back, a
 * rollout halted by it. An event repeated (same node, reason and note) is not a second
 * event: its `series` counts it, as client-go's event recorder does, which `kubectl
 * describe` shows as "x3 over 10m". A run records at most EVENTS_PER_RUN; the rest are
 * counted in the log. Failing to record one is logged and never fails the read-back.
 */

export const EVENTS_PER_RUN = 50;
const REPORTING_CONTROLLER = 'lynq.sh/gitops-bridge';
/** events.k8s.io/v1 refuses a note over 1 KiB. */
const NOTE_LIMIT = 1024;

export type NodeEvent = {
  namespace: string;
  /** The LynqNode the event is about. */
  lynqNode: { name: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: 'NodeDegraded' | 'NodeRecovered' | 'RolloutHalted' | 'RolloutCompleted';
  note: string;
  /**
   * Names an event that happens once (a form version's rollout completing): it is written
   * under this name the first time, and found existing later it is neither repeated nor counted.
   */
  once?: string;
};

/** `known`: a once-only event found already written (events.k8s.io keeps an event about an hour). */
export type EventsResult = { created: number; repeated: number; known: number; dropped: number; failed: number };

/** The event for a phase change of a node, if it is one people act on: into Degraded (or Missing), or out of it. */
export function phaseEvent(
  from: NodePhase | undefined,
  to: NodePhase,
  message: string,
): Pick<NodeEvent, 'type' | 'reason' | 'note'> | undefined {
  const bad = (phase: NodePhase | undefined): boolean => phase === 'Degraded' || phase === 'Missing';
  if (bad(to) && !bad(from)) return { type: 'Warning', reason: 'NodeDegraded', note: `${to}: ${message}` };
  if (bad(from) && !bad(to))
    return { type: 'Normal', reason: 'NodeRecovered', note: `${to} again (was ${from}): ${message}` };
  return undefined;
}

export async function recordNodeEvents(
  kube: KubeClient,
  hub: string,
  events: readonly NodeEvent[],
  deps: { clock: () => number; logger: Logger },
): Promise<EventsResult> {
  const result: EventsResult = {
    created: 0,
    repeated: 0,
    known: 0,
    dropped: Math.max(0, events.length - EVENTS_PER_RUN),
    failed: 0,
  };
  for (const event of events.slice(0, EVENTS_PER_RUN)) {
    try {
      const outcome = await recordOne(kube, event, new Date(deps.clock()));
      result[outcome]++;
    } catch (error) {
      if (!isLynqError(error)) throw error;
      result.failed++;
      deps.logger.warn(
        { hub, lynqNode: event.lynqNode.name, reason: event.reason, err: messageOf(error) },
        'event not recorded',
      );
    }
  }
  if (result.dropped > 0)
    deps.logger.warn(
      { hub, dropped: result.dropped, limit: EVENTS_PER_RUN },
      'events over the limit of one run not recorded',
    );
  return result;
}

async function recordOne(kube: KubeClient, event: NodeEvent, now: Date): Promise<'created' | 'repeated' | 'known'> {
  const note = event.note.length > NOTE_LIMIT ? `${event.note.slice(0, NOTE_LIMIT - 1)}…` : event.note;
  // One name per node, reason and note: the same event again is refused as existing, then counted.
  const name = event.once ?? `${event.lynqNode.name.slice(0, 240)}.${sha256(`${event.reason}\n${note}`).slice(0, 10)}`;
  const body = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace: event.namespace },
    eventTime: microTime(now),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: os.hostname(),
    action: event.reason === 'RolloutHalted' || event.reason === 'RolloutCompleted' ? 'Rollout' : 'ReadBack',
    reason: event.reason,
    note,
    type: event.type,
    regarding: {
      apiVersion: 'operator.lynq.sh/v1',
      kind: 'LynqNode',
      namespace: event.namespace,
      name: event.lynqNode.name,
      uid: event.lynqNode.uid,
    },
  };
  // A first occurrence is one request; a repeat reads the event's count and patches it.
  if ((await kube.create(EVENT, event.namespace, body)) === 'created') return 'created';
  if (event.once !== undefined) return 'known';
  const existing = await kube.find(EVENT, event.namespace, name);
  const count = (existing as { series?: { count?: number } } | undefined)?.series?.count ?? 1;
  const patched =
    existing === undefined
      ? 'not-found'
      : await kube.mergePatch(
          EVENT,
          event.namespace,
          name,
          { series: { count: count + 1, lastObservedTime: microTime(now) } },
          { status: false },
        );
  if (patched === 'patched') return 'repeated';
  // Expired (or deleted) in between: recorded anew.
  await kube.create(EVENT, event.namespace, body);
  return 'created';
}

/** metav1.MicroTime, as the API writes it: RFC 3339 with six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
