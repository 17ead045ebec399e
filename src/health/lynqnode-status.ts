import { KubeError, messageOf } from '../errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { LYNQ_NODE, type KubeObject } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';
import type { NodeHealth } from './read-back.ts';
import type { NodePhase, PauseFact } from './types.ts';
import { sha256 } from '../render/hash.ts';
import { type ListedLynqNode, listLynqNodes, type LynqNodeListing } from './lynqnode-list.ts';
import type { StatusFact, StatusMemo } from './status-memo.ts';
import { commitOfRevision } from './revision.ts';
import { completesLeadTime, type LeadTime, leadTimeOfOwned, nextLeadTime } from './lead-time.ts';

/** How the LynqNode status write went for a hub. */
export type StatusWriteResult = {
  patched: number;
  unchanged: number;
  notCreated: number;
  failed: Array<{ form: string; uid: string; error: string }>;
  requests: { list: number; get: number; patch: number };
  /** Nodes whose LynqNode now says Paused (`<form>/<uid>` → why), whether this run or the last sync wrote it. */
  paused: Map<string, string>;
  /** Nodes whose phase this run changed (`from` undefined: the LynqNode had none), with their LynqNode's uid: for events. */
  changedPhase: Array<{ node: NodeHealth; from: NodePhase | undefined; lynqNodeUid: string | undefined }>;
  /** The lead time each node's status holds after this run, by `<form>/<uid>` (nodes with none are absent). */
  leadTimes: Map<string, LeadTime>;
  /** Lead times this run completed (the node turned Ready at a new commit, and this run wrote it): each observed once. */
  completedLeadTimes: LeadTime[];
};

/** Lynq's condition types, and Paused (a row, or a LynqNode's annotation, that pauses its node); the bridge owns them all. */
const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'Conflicted', 'Paused'] as const;
/** The conditions only a sync knows; a read-back without one keeps them as the status says. */
const SYNC_CONDITIONS = new Set(['Conflicted', 'Paused']);

/**
 * What only a sync knows of a node: whether a file of it was edited in Git, and why its
 * row pauses it. Undefined: not known here (a read-back of its own), so the Conflicted and
 * Paused conditions stay as the status has them.
 */
export type SyncFacts = { conflicted: boolean; paused: PauseFact | undefined };
/** The status fields the bridge writes; other writers' fields are left alone, and not compared. */
const OWNED = [
  'phase',
  'desiredResources',
  'readyResources',
  'failedResources',
  'resourcePhases',
  'git',
  'appliedRevision',
  'conditions',
  'leadTime',
] as const;
/** Owned objects whose keys the bridge may drop (a merge patch removes them with null). */
const OWNED_OBJECTS = ['git', 'leadTime'] as const;
const PATCH_CONCURRENCY = 8;

type Condition = {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
};

/**
 * Above this many LynqNodes whose status must be read (no fact of the memo names their
 * uid and resourceVersion: another writer, a lost memo), one LIST of their namespace is
 * cheaper than a GET each.
 */
const STALE_GETS = 50;

/**
 * Write each node's health into its LynqNode's status subresource: one LIST of the hub's
 * LynqNodes (the current status, so an unchanged node is not written; `listed`: a listing
 * made earlier in the same run, whose namespaces are not listed again), then a merge
 * patch on `/status` of each node whose status changed, carrying the resourceVersion it
 * was computed from. A 409 (someone wrote in between, after an earlier listing too) is
 * retried once on a fresh read. A LynqNode the engine has not created yet is skipped.
 *
 * With a status memo (`memo`), what the bridge last saw or wrote of each status is kept by
 * the LynqNode's uid and resourceVersion, and a LynqNode listed metadata only is judged by
 * it: at the same uid and resourceVersion nobody wrote since, so its status is the one
 * kept. A LynqNode the memo does not know at that resourceVersion is read whole (a GET
 * each, or one LIST when many are): the memo only ever saves reading a status.
 */
export async function writeLynqNodeStatuses(
  kube: KubeClient,
  hub: string,
  nodes: readonly NodeHealth[],
  options: {
    clock: () => number;
    logger: Logger;
    /** The sync's conflicted nodes (`<form>/<uid>`), and with them its paused ones and why; both undefined without a sync. */
    conflicted?: ReadonlySet<string>;
    paused?: ReadonlyMap<string, PauseFact>;
    listed?: LynqNodeListing;
    memo?: StatusMemo;
  },
): Promise<StatusWriteResult> {
  const syncFacts = (node: NodeHealth): SyncFacts | undefined => {
    const key = `${node.form}/${node.uid}`;
    return options.conflicted === undefined
      ? undefined
      : { conflicted: options.conflicted.has(key), paused: options.paused?.get(key) };
  };
  const before = { ...kube.requests };
  const current = new Map<string, ListedLynqNode>(options.listed?.objects);
  const facts = new Map(options.listed?.facts);
  const missing = [...new Set(nodes.map((node) => node.namespace))].filter(
    (namespace) => options.listed?.namespaces.has(namespace) !== true,
  );
  const more = await listLynqNodes(kube, hub, missing, options.memo);
  for (const [key, object] of more.objects) current.set(key, object);
  for (const [key, fact] of more.facts ?? []) facts.set(key, fact);
  const now = new Date(options.clock()).toISOString();
  const result: StatusWriteResult = {
    patched: 0,
    unchanged: 0,
    notCreated: 0,
    failed: [],
    requests: { list: 0, get: 0, patch: 0 },
    paused: new Map(),
    changedPhase: [],
    leadTimes: new Map(),
    completedLeadTimes: [],
  };
  /** The facts true after this run, for the memo: only of this hub's nodes now. */
  const known = new Map<string, StatusFact>();

  // Each node's LynqNode as far as it is known without another request; 'read': its status must be read.
  const work: Array<{ node: NodeHealth; object: KubeObject | undefined | 'read' }> = [];
  const stale: NodeHealth[] = [];
  for (const node of nodes) {
    const key = `${node.namespace}/${node.name}`;
    const object = current.get(key);
    if (object === undefined || object.partial !== true) {
      work.push({ node, object });
      continue;
    }
    const fact = facts.get(key);
    if (
      fact === undefined ||
      object.metadata?.uid === undefined ||
      fact.uid !== object.metadata.uid ||
      fact.resourceVersion !== object.metadata.resourceVersion
    ) {
      stale.push(node);
      continue;
    }
    const sync = syncFacts(node);
    const wanted = verdictOf(nodeStatus(node, {}, '', sync));
    // Unknown to this read-back, the sync's conditions are kept as they are: then those the status has will do.
    if (
      wanted.verdict === fact.verdict &&
      (sync === undefined ? fact.fromSync !== '' : wanted.fromSync === fact.fromSync)
    ) {
      result.unchanged++;
      known.set(key, fact);
      const lead = leadTimeOfOwned(fact.owned);
      if (lead !== undefined) result.leadTimes.set(`${node.form}/${node.uid}`, lead);
      // The sync's conditions, as kept: parsed only for the rare node a row pauses.
      if (fact.fromSync.includes(PAUSED_TRUE))
        notePaused(result, node, { conditions: JSON.parse(fact.fromSync) as unknown });
      continue;
    }
    work.push({ node, object: { metadata: object.metadata, status: JSON.parse(fact.owned) as unknown } });
  }
  if (stale.length > STALE_GETS) {
    const whole = await listLynqNodes(kube, hub, new Set(stale.map((node) => node.namespace)));
    for (const node of stale) work.push({ node, object: whole.objects.get(`${node.namespace}/${node.name}`) });
  } else {
    for (const node of stale) work.push({ node, object: 'read' });
  }

  let next = 0;
  const worker = async (): Promise<void> => {
    for (let item = work[next++]; item !== undefined; item = work[next++]) {
      const { node } = item;
      try {
        const object = item.object === 'read' ? await kube.find(LYNQ_NODE, node.namespace, node.name) : item.object;
        const outcome = await writeOne(kube, node, object, now, syncFacts(node), options.memo !== undefined);
        result[outcome.outcome]++;
        if (outcome.status !== undefined) {
          notePaused(result, node, outcome.status);
          if (outcome.status.leadTime !== undefined)
            result.leadTimes.set(`${node.form}/${node.uid}`, outcome.status.leadTime as LeadTime);
        }
        if (outcome.completed !== undefined) result.completedLeadTimes.push(outcome.completed);
        if (outcome.outcome === 'patched' && outcome.from !== node.phase)
          result.changedPhase.push({ node, from: outcome.from, lynqNodeUid: outcome.lynqNodeUid });
        if (outcome.fact !== undefined) known.set(`${node.namespace}/${node.name}`, outcome.fact);
      } catch (error) {
        // The API refusing the bridge (401/403) or being down is the hub's failure, not one node's.
        if (error instanceof KubeError && (error.status === undefined || error.status === 401 || error.status === 403))
          throw error;
        result.failed.push({ form: node.form, uid: node.uid, error: messageOf(error) });
        options.logger.warn(
          { hub, form: node.form, uid: node.uid, err: messageOf(error) },
          'lynqnode status not written',
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PATCH_CONCURRENCY, Math.max(1, work.length)) }, worker));
  if (
    options.memo !== undefined &&
    (known.size !== facts.size || [...known].some(([key, fact]) => facts.get(key) !== fact))
  ) {
    // Only speed is lost when this fails.
    await options.memo
      .save(hub, kube.server, known)
      .catch((error: unknown) => options.logger.warn({ hub, err: String(error) }, 'lynqnode statuses not kept'));
  }
  result.requests = {
    list: kube.requests.list - before.list,
    get: kube.requests.get - before.get,
    patch: kube.requests.patch - before.patch,
  };
  options.logger.info(
    {
      hub,
      patched: result.patched,
      unchanged: result.unchanged,
      notCreated: result.notCreated,
      failed: result.failed.length,
      readWhole: stale.length,
    },
    'lynqnode statuses written',
  );
  return result;
}

/** Unchanged or patched, with the status it then has and what is true of it (`keep`: for a memo; none when the object lacks a uid or resourceVersion). */
type WriteOutcome = {
  outcome: 'patched' | 'unchanged' | 'notCreated';
  status?: Record<string, unknown>;
  fact?: StatusFact;
  /** The phase the status had before a patch, and the LynqNode's uid. */
  from?: NodePhase;
  lynqNodeUid?: string;
  /** The lead time this patch completed. */
  completed?: LeadTime;
};

/** How a kept Paused condition that is on reads in the memo's JSON (nodeStatus writes its keys in this order). */
const PAUSED_TRUE = '"type":"Paused","status":"True"';

function notePaused(result: StatusWriteResult, node: NodeHealth, status: Record<string, unknown>): void {
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
  const paused = conditions.find((condition) => condition.type === 'Paused' && condition.status === 'True');
  if (paused !== undefined) result.paused.set(`${node.form}/${node.uid}`, String(paused.message ?? ''));
}

async function writeOne(
  kube: KubeClient,
  node: NodeHealth,
  listed: KubeObject | undefined,
  now: string,
  facts: SyncFacts | undefined,
  keep: boolean,
): Promise<WriteOutcome> {
  let object = listed;
  for (let attempt = 1; attempt <= 2; attempt++) {
    if (object === undefined) return { outcome: 'notCreated' };
    const status = nodeStatus(node, record(object.status), now, facts);
    if (sameOwned(status, record(object.status)))
      return { outcome: 'unchanged', status, fact: keep ? factOf(object, status) : undefined };
    const body = {
      metadata: { resourceVersion: object.metadata?.resourceVersion },
      status: withRemovals(status, record(object.status)),
    };
    const patched = await kube.patchStatus(LYNQ_NODE, node.namespace, node.name, body);
    // What the API stored: the owned fields are `status` (a merge patch at that resourceVersion), at its new resourceVersion.
    if (patched.outcome === 'patched') {
      const from = record(object.status).phase as NodePhase | undefined;
      const completed = completesLeadTime(record(object.status).leadTime, status.leadTime as LeadTime | undefined)
        ? (status.leadTime as LeadTime)
        : undefined;
      return {
        outcome: 'patched',
        status,
        fact: keep ? factOf(patched.object, status) : undefined,
        from,
        lynqNodeUid: object.metadata?.uid,
        completed,
      };
    }
    if (patched.outcome === 'not-found') return { outcome: 'notCreated' };
    // 409: written by someone else since the LIST; read it again and compute from that.
    if (attempt === 1) object = await kube.find(LYNQ_NODE, node.namespace, node.name);
  }
  throw new KubeError(`the LynqNode ${node.namespace}/${node.name} status kept changing under the bridge (409 twice)`, {
    hub: node.hub,
    form: node.form,
    uid: node.uid,
    server: kube.server,
    status: 409,
  });
}

/** The fact that `object` (at its uid and resourceVersion) holds `status` in the fields the bridge owns. */
function factOf(object: KubeObject, status: Record<string, unknown>): StatusFact | undefined {
  const uid = object.metadata?.uid;
  const resourceVersion = object.metadata?.resourceVersion;
  if (uid === undefined || resourceVersion === undefined || uid === '' || resourceVersion === '') return undefined;
  return { uid, resourceVersion, ...verdictOf(status), owned: JSON.stringify(status) };
}

/**
 * A status (as nodeStatus builds it, so its keys come in one order) without its
 * conditions' transition times: two statuses with the same verdict and sync conditions
 * are the same status, since nodeStatus keeps a condition's time while its status stays.
 * The sync's conditions (Conflicted, Paused) apart, as `fromSync` ('' when the status
 * has none): left unknown, the bridge keeps them as they are.
 */
function verdictOf(status: Record<string, unknown>): { verdict: string; fromSync: string } {
  const fromSync: Array<Record<string, unknown>> = [];
  const conditions: Array<Record<string, unknown>> = [];
  // The lead time moves only with what the verdict has (a new commit, the applied revision, the phase): it is left out, like the times.
  const { leadTime: _leadTime, ...judged } = status;
  for (const item of Array.isArray(status.conditions) ? status.conditions : []) {
    const { lastTransitionTime: _time, ...kept } = record(item);
    if (SYNC_CONDITIONS.has(String(kept.type))) fromSync.push(kept);
    else conditions.push(kept);
  }
  return {
    verdict: sha256(JSON.stringify({ ...judged, conditions })),
    fromSync: fromSync.length === 0 ? '' : JSON.stringify(fromSync),
  };
}

/** The Paused condition's reason: what paused the node, or NotPaused. */
function pausedReason(paused: PauseFact | undefined): string {
  if (paused === undefined) return 'NotPaused';
  return paused.by === 'annotation' ? 'PausedByAnnotation' : 'PausedByRow';
}

/**
 * The status the bridge writes for a node: Lynq's conditions and counts, per-resource
 * phases, the Git side and the applied revision. A condition keeps its
 * lastTransitionTime while its status stays, so an unchanged cluster gives an identical
 * status (and no write).
 */
export function nodeStatus(
  node: NodeHealth,
  current: Record<string, unknown>,
  now: string,
  facts: SyncFacts | undefined,
): Record<string, unknown> {
  const previous = new Map<string, Record<string, unknown>>();
  for (const item of Array.isArray(current.conditions) ? current.conditions : []) {
    const condition = record(item);
    if (typeof condition.type === 'string') previous.set(condition.type, condition);
  }
  const make = (type: string, on: boolean, reason: string, message: string): Condition => {
    const status = on ? 'True' : 'False';
    const before = previous.get(type);
    const lastTransitionTime =
      before?.status === status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : now;
    return { type, status, reason, message, lastTransitionTime };
  };
  const degraded = node.phase === 'Degraded' || node.phase === 'Missing';
  // Unknown here, a sync's condition stays as the status has it (made afresh only when it has none).
  const fromSync = (type: string, made: () => Condition): Condition =>
    facts === undefined && previous.has(type) ? (previous.get(type) as Condition) : made();
  const conflicted = facts?.conflicted === true;
  const paused = facts?.paused;
  const conditions: Condition[] = [
    make('Ready', node.phase === 'Ready', node.reason, node.message),
    make('Progressing', node.phase === 'Progressing', node.reason, node.message),
    make('Degraded', degraded, node.reason, node.message),
    fromSync('Conflicted', () =>
      make(
        'Conflicted',
        conflicted,
        conflicted ? 'ConflictDetected' : 'NoConflict',
        conflicted ? 'a file of the node was edited in Git (conflictPolicy Stuck)' : '',
      ),
    ),
    fromSync('Paused', () => make('Paused', paused !== undefined, pausedReason(paused), paused?.why ?? '')),
  ];
  // Unknown is neither ready nor progressing nor degraded: say so on Ready rather than guess.
  if (node.phase === 'Unknown')
    conditions[0] = {
      ...conditions[0]!,
      status: 'Unknown',
      lastTransitionTime:
        previous.get('Ready')?.status === 'Unknown' ? String(previous.get('Ready')!.lastTransitionTime) : now,
    };
  const git: Record<string, unknown> = {};
  if (node.commit !== undefined) {
    git.lastCommit = node.commit.commit;
    git.lastCommitTime = new Date(node.commit.time * 1000).toISOString();
  }
  if (node.pullRequest !== undefined)
    git.pullRequest = { number: node.pullRequest.number, state: node.pullRequest.state };
  const status: Record<string, unknown> = {
    phase: node.phase,
    desiredResources: node.resources.desired,
    readyResources: node.resources.ready,
    failedResources: node.resources.failed,
    resourcePhases: node.resourcePhases.map((resource) => withoutUndefined(resource)),
    git,
    conditions: conditions.filter((condition) =>
      CONDITION_TYPES.includes(condition.type as (typeof CONDITION_TYPES)[number]),
    ),
  };
  const applied =
    node.appliedRevision === undefined ? undefined : (commitOfRevision(node.appliedRevision) ?? node.appliedRevision);
  if (applied !== undefined) status.appliedRevision = applied;
  // Last, so the status memo's JSON has it at its end (leadTimeOfOwned).
  const leadTime = nextLeadTime(node, current, now);
  if (leadTime !== undefined) status.leadTime = leadTime;
  return status;
}

/** A merge patch keeps keys it does not name: a field the bridge no longer writes (a closed pull request) is removed with null. */
function withRemovals(next: Record<string, unknown>, current: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...next };
  for (const key of OWNED) if (current[key] !== undefined && next[key] === undefined) out[key] = null;
  for (const field of OWNED_OBJECTS) {
    if (next[field] === undefined) continue;
    const nextObject = record(next[field]);
    const object: Record<string, unknown> = { ...nextObject };
    for (const key of Object.keys(record(current[field]))) if (nextObject[key] === undefined) object[key] = null;
    out[field] = object;
  }
  return out;
}

function sameOwned(next: Record<string, unknown>, current: Record<string, unknown>): boolean {
  return OWNED.every((key) => sameJson(next[key], current[key]));
}

/**
 * Equal as JSON: key order and keys holding undefined do not count. A walk that stops at
 * the first difference; serialising both sides (stableJson) to compare them cost more than
 * the rest of a no-op read-back's judging at 10,000 nodes.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b))
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, index) => sameJson(item, b[index]))
    );
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key in left) {
    if (left[key] === undefined) continue;
    if (!sameJson(left[key], right[key])) return false;
    count++;
  }
  for (const key in right) if (right[key] !== undefined) count--;
  return count === 0;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
