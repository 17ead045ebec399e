import type { Hub } from '../config/load.ts';
import { isLynqError, KubeError, messageOf } from '../errors.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../logger.ts';
import { checkRoot } from '../render/paths.ts';
import type { DeployReporter, DeployReportResult } from './deploy-report.ts';
import type { NodeMemo } from './node-memo.ts';
import { type EventsResult, type NodeEvent, phaseEvent, recordNodeEvents } from './events.ts';
import { nudgeEngines } from './refresh.ts';
import { writeLynqNodeStatuses, type StatusWriteResult } from './lynqnode-status.ts';
import {
  advanceClusterRead,
  type ClusterRead,
  expectedEngineObjects,
  judgeHubHealth,
  readCluster,
  startClusterLists,
  type NodeHealth,
  type PullRequestRef,
} from './read-back.ts';
import type { PauseFact } from './types.ts';

/** Where a hub's health goes besides the LynqNodes: the hub's status table (spec.statusWriteback). */
export type StatusSink = (hub: Hub, nodes: readonly NodeHealth[]) => Promise<{ upserted: number; deleted: number }>;

export type ReadBackDeps = {
  kube: KubeClient;
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  /** The status table writer; only called for hubs with spec.statusWriteback. */
  statusTable?: StatusSink;
  clock: () => number;
  logger: Logger;
  /** LynqNodes parsed by earlier runs (the cache folder); saves parsing every one each time. */
  memo?: NodeMemo;
  /** Reports deploy results on the forge, for hubs with spec.publish.platform.reportDeploys. */
  reportDeploys?: DeployReporter;
};

export type ReadBackContext = {
  /** Pull requests the sync just proposed, by `<form>/<uid>`. */
  openPullRequests?: ReadonlyMap<string, PullRequestRef>;
  /** Nodes the sync found conflicted, as `<form>/<uid>`; undefined: not known (keep what the status says). */
  conflicted?: ReadonlySet<string>;
  /** Nodes the sync left as Git has them because their row or their LynqNode's annotation pauses them (`<form>/<uid>` → why and by what); given with `conflicted`. */
  paused?: ReadonlyMap<string, PauseFact>;
  /** Nodes whose failure halts their form's rollout in this sync (`<form>/<uid>`): each gets a RolloutHalted event. */
  haltedBy?: ReadonlySet<string>;
  /** Nodes just pushed (`<form>/<uid>`), whose engine objects are nudged when spec.gitops.refresh is on. */
  refresh?: ReadonlySet<string>;
  /**
   * A read of this hub made earlier in the same run (the rollout gate's), and the head the
   * run left the branch at (its own commit on the head that read saw, or that head). Judged
   * again instead of reading the cluster twice, while the branch is still at that head and
   * the read is at most REUSE_MAX_AGE_MS old; otherwise the cluster is read afresh.
   */
  earlier?: { read: ClusterRead; head: string | undefined };
};

/**
 * How old an earlier read may be and still stand for the read-back: a few seconds in a
 * rollout step (the gate's read, then the render, commit and push). What the engine did in
 * between shows at the next read-back, as it would had the read-back run that much earlier.
 */
export const REUSE_MAX_AGE_MS = 60_000;

/**
 * How one hub's read-back ended. `cluster-failed`: the API could not be read (nothing
 * written); `failed`: git or the status table failed after the cluster was read (what was
 * written stays). Per-node status write failures are in `statuses.failed`.
 */
export type HubReadBack =
  | {
      hub: string;
      outcome: 'read';
      nodes: NodeHealth[];
      unreadable: string[];
      statuses: StatusWriteResult;
      table?: { upserted: number; deleted: number };
      tableError?: string;
      /** LIST requests this read-back made (none when it judged an earlier read again). */
      listRequests: number;
      nudged?: { nudged: number; skipped: number; failed: string[] };
      events?: EventsResult;
      deploy?: DeployReportResult;
      deployError?: string;
    }
  | { hub: string; outcome: 'cluster-failed' | 'failed'; error: string };

/**
 * The earlier read carried to `input.head`, when it may stand for a fresh one: the branch
 * is where the run left it, the read is recent, and its head is an ancestor of the branch
 * head (the run's commit is on top of what the read saw). Undefined: read afresh.
 */
async function earlierRead(
  earlier: ReadBackContext['earlier'],
  input: Omit<Parameters<typeof advanceClusterRead>[1], 'head'> & { head: string | undefined },
  now: number,
): Promise<ClusterRead | undefined> {
  if (
    earlier === undefined ||
    input.head === undefined ||
    earlier.head !== input.head ||
    now - earlier.read.readAt > REUSE_MAX_AGE_MS
  )
    return undefined;
  // The ancestry check runs beside the carrying forward (two git processes at once); a read that fails it is dropped.
  const ancestor =
    earlier.read.head === undefined || earlier.read.head === input.head
      ? Promise.resolve(true)
      : input.repo.isAncestor(earlier.read.head, input.head);
  const advanced = advanceClusterRead(earlier.read, { ...input, head: input.head });
  advanced.catch(() => undefined);
  if (!(await ancestor)) return undefined;
  input.logger.info(
    { readAgoMs: now - earlier.read.readAt },
    'judging the earlier read of the cluster again, at the new head',
  );
  return advanced;
}

/** The events of a read-back: each node whose phase went into or out of Degraded, each node that halts its form's rollout, each form version whose rollout completed. */
function nodeEvents(
  hub: string,
  nodes: readonly NodeHealth[],
  statuses: StatusWriteResult,
  haltedBy: ReadonlySet<string> | undefined,
  listed: ClusterRead['lynqNodes'],
): NodeEvent[] {
  const events: NodeEvent[] = [];
  for (const { node, from, lynqNodeUid } of statuses.changedPhase) {
    const event = phaseEvent(from, node.phase, node.message);
    if (event !== undefined)
      events.push({ ...event, namespace: node.namespace, lynqNode: { name: node.name, uid: lynqNodeUid } });
  }
  for (const node of haltedBy === undefined
    ? []
    : nodes.filter((candidate) => haltedBy.has(`${candidate.form}/${candidate.uid}`))) {
    events.push({
      type: 'Warning',
      reason: 'RolloutHalted',
      namespace: node.namespace,
      lynqNode: { name: node.name, uid: listed?.objects.get(`${node.namespace}/${node.name}`)?.metadata?.uid },
      note: `the rollout of form ${node.form} is halted by this node (${node.phase}: ${node.message}); fix the form, or run lynq rollout resume ${hub}/${node.form}`,
    });
  }
  events.push(...completedRollouts(hub, nodes, statuses, listed));
  return events;
}

/**
 * A RolloutCompleted event for each form whose nodes, in this read-back, all became Ready on
 * one form version: some node of it turned Ready now, and every node Git has of the form is
 * Ready at the same `lynq.sh/form-hash` (a node a paced rollout still holds back is at the
 * old one). Named by hub, form and version, so each version's rollout is told once, on the
 * LynqNode whose Ready completed it, whichever read-back (a sync's, serve's, `lynq status`)
 * sees it first.
 */
function completedRollouts(
  hub: string,
  nodes: readonly NodeHealth[],
  statuses: StatusWriteResult,
  listed: ClusterRead['lynqNodes'],
): NodeEvent[] {
  const turnedReady = new Map<string, StatusWriteResult['changedPhase'][number]>();
  for (const change of statuses.changedPhase)
    if (change.node.phase === 'Ready' && change.node.formHash !== null) turnedReady.set(change.node.form, change);
  if (turnedReady.size === 0) return [];
  const forms = new Map<string, { count: number; settled: boolean }>();
  for (const node of nodes) {
    const form = forms.get(node.form) ?? { count: 0, settled: true };
    form.count++;
    form.settled &&= node.phase === 'Ready' && node.formHash === turnedReady.get(node.form)?.node.formHash;
    forms.set(node.form, form);
  }
  const events: NodeEvent[] = [];
  for (const [form, { node, lynqNodeUid }] of turnedReady) {
    const { count, settled } = forms.get(form) ?? { count: 0, settled: false };
    if (!settled) continue;
    const version = (node.formHash ?? '').replace(/^sha256:/, '').slice(0, 12);
    events.push({
      type: 'Normal',
      reason: 'RolloutCompleted',
      namespace: node.namespace,
      lynqNode: {
        name: node.name,
        uid: lynqNodeUid ?? listed?.objects.get(`${node.namespace}/${node.name}`)?.metadata?.uid,
      },
      note: `every node of form ${form} (${count}) is Ready on form version ${version}; this node was the last`,
      once: `${hub}.${form}.rollout.${version}`.toLowerCase().slice(0, 253),
    });
  }
  return events;
}

function withLeadTime(node: NodeHealth, leadTimes: StatusWriteResult['leadTimes']): NodeHealth {
  const leadTime = leadTimes.get(`${node.form}/${node.uid}`);
  return leadTime === undefined ? node : { ...node, leadTime };
}

/** Read one hub's health back and write it to its LynqNodes and status table. */
export async function readBackHub(hub: Hub, deps: ReadBackDeps, context: ReadBackContext = {}): Promise<HubReadBack> {
  const log = deps.logger.child({ hub: hub.name });
  let repo: ManifestsRepo | undefined;
  try {
    const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
    const listBefore = deps.kube.requests.list;
    const expected = expectedEngineObjects(hub);
    // Nothing earlier to judge again: the LISTs the hub's settings tell ahead start now, while the clone is opened and read.
    const lists =
      context.earlier === undefined
        ? startClusterLists(deps.kube, hub.name, expected, [hub.namespace], deps.memo?.statuses)
        : undefined;
    repo = await deps.openRepo(hub);
    const head = await repo.fetch(hub.spec.publish.branch);
    const input = {
      hub: hub.name,
      prefix: `${root}/${hub.name}`,
      namespace: hub.namespace,
      repo,
      head,
      kube: deps.kube,
      clock: deps.clock,
      logger: log,
      openPullRequests: context.openPullRequests,
      memo: deps.memo,
    };
    const read =
      (await earlierRead(context.earlier, input, deps.clock())) ??
      (await readCluster({
        ...input,
        lists: lists ?? startClusterLists(deps.kube, hub.name, expected, [hub.namespace], deps.memo?.statuses),
      }));
    const health = judgeHubHealth(read, input);
    const statuses = await writeLynqNodeStatuses(deps.kube, hub.name, health.nodes, {
      clock: deps.clock,
      logger: log,
      conflicted: context.conflicted,
      paused: context.paused,
      listed: read.lynqNodes,
      memo: deps.memo?.statuses,
    });
    // The sinks after the LynqNodes show each node's lead time as its status now holds it.
    const nodes =
      statuses.leadTimes.size === 0 ? health.nodes : health.nodes.map((node) => withLeadTime(node, statuses.leadTimes));
    const result: HubReadBack = {
      hub: hub.name,
      outcome: 'read',
      nodes,
      unreadable: health.unreadable,
      statuses,
      listRequests: deps.kube.requests.list - listBefore,
    };
    const events = nodeEvents(hub.name, nodes, statuses, context.haltedBy, read.lynqNodes);
    if (events.length > 0)
      result.events = await recordNodeEvents(deps.kube, hub.name, events, { clock: deps.clock, logger: log });
    if (hub.spec.gitops.refresh && context.refresh !== undefined && context.refresh.size > 0) {
      const objects = nodes
        .filter((node) => context.refresh!.has(`${node.form}/${node.uid}`))
        .flatMap((node) => node.engineObjects);
      result.nudged = await nudgeEngines(deps.kube, objects, { clock: deps.clock, logger: log });
    }
    if (hub.spec.publish.platform?.reportDeploys && deps.reportDeploys !== undefined) {
      // The forge is told after the cluster was read and written: a forge that fails changes nothing of that.
      try {
        result.deploy = await deps.reportDeploys(hub, nodes);
      } catch (error) {
        if (!isLynqError(error)) throw error;
        log.warn({ err: messageOf(error) }, 'deploy result not reported on the forge');
        result.deployError = messageOf(error);
      }
    }
    if (hub.spec.statusWriteback !== undefined && deps.statusTable !== undefined) {
      try {
        result.table = await deps.statusTable(hub, nodes);
      } catch (error) {
        if (!isLynqError(error)) throw error;
        log.error({ err: messageOf(error) }, 'status table not written');
        result.tableError = messageOf(error);
      }
    }
    return result;
  } catch (error) {
    if (!isLynqError(error)) throw error;
    const outcome = error instanceof KubeError ? 'cluster-failed' : 'failed';
    log.error({ err: messageOf(error) }, 'health read-back failed');
    return { hub: hub.name, outcome, error: messageOf(error) };
  } finally {
    await repo?.close();
  }
}
