import { performance } from 'node:perf_hooks';
import type { Hub } from '../config/load.ts';
import { resolveGitops } from '../gitops/engine.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { NodeCommit } from '../git/node-commits.ts';
import type { KubeClient } from '../kube/client.ts';
import { ARGO_APPLICATION, FLUX_KUSTOMIZATION, hubSelector, type KubeResource } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';
import { argoHealthReader } from './argocd.ts';
import { fluxHealthReader } from './flux.ts';
import { readGitNodes, type GitNode, type NodeSummary } from './git-nodes.ts';
import { listLynqNodes, type LynqNodeListing } from './lynqnode-list.ts';
import type { NodeMemo } from './node-memo.ts';
import type { StatusMemo } from './status-memo.ts';
import { nodePhase, resourcePhase } from './phase.ts';
import { commitOfRevision } from './revision.ts';
import type { EngineObservation, HealthReader, NodePhase, ResourcePhase } from './types.ts';
import type { LeadTime } from './lead-time.ts';

export type PullRequestRef = { number: number; state: 'open' | 'merged' | 'closed' };

/** One node's health, as every sink (LynqNode status, status table, `lynq status`) writes it. */
export type NodeHealth = {
  hub: string;
  form: string;
  uid: string;
  /** The LynqNode. */
  name: string;
  namespace: string;
  phase: NodePhase;
  applied: boolean;
  reason: string;
  message: string;
  commit: NodeCommit | undefined;
  pullRequest: PullRequestRef | undefined;
  /** What the engine last applied (a sha, or its revision text), from the first of the node's engine objects. */
  appliedRevision: string | undefined;
  resources: { desired: number; ready: number; failed: number };
  resourcePhases: Array<{
    id: string;
    kind: string;
    name: string;
    namespace?: string;
    phase: ResourcePhase;
    message?: string;
  }>;
  /** The Application or Kustomizations that apply the node, as its LynqNode names them. */
  engineObjects: GitNode['objects'];
  /** The form version Git has the node at (GitNode's). */
  formHash: string | null;
  /** The lead time its LynqNode status holds, once the read-back wrote the statuses (health/run.ts); none before, or when not known. */
  leadTime?: LeadTime;
};

export type HubHealth = { hub: string; nodes: NodeHealth[]; unreadable: string[]; requests: { list: number } };

export type ReadBackInput = {
  hub: string;
  /** `<root>/<hub>`: where the hub's node folders are. */
  prefix: string;
  /** The namespace of LynqNodes that name none (the hub's). */
  namespace: string;
  repo: ManifestsRepo;
  head: string | undefined;
  kube: KubeClient;
  /** Milliseconds since the epoch. */
  clock: () => number;
  logger: Logger;
  /** Pull requests the sync knows are open, by `<form>/<uid>`. */
  openPullRequests?: ReadonlyMap<string, PullRequestRef>;
  /** LynqNodes parsed by earlier runs, by blob id (none: parse every one). */
  memo?: NodeMemo;
  /** Engine kinds and namespaces the hub's settings say its nodes use: listed at once, while git is read. */
  expected?: ReadonlyArray<{ kind: string; namespace: string }>;
};

const READERS: Record<string, { resource: KubeResource; reader: HealthReader }> = {
  Application: { resource: ARGO_APPLICATION, reader: argoHealthReader },
  Kustomization: { resource: FLUX_KUSTOMIZATION, reader: fluxHealthReader },
};

/**
 * What one read of a hub saw, before judging: the nodes Git has at `head`, their last
 * commits, what the engine reports of each engine object, which node commits each
 * reported revision contains, and (when asked) the hub's LynqNodes. Judged by
 * `judgeHubHealth`; carried forward over the sync's own commit by `advanceClusterRead`.
 */
export type ClusterRead = {
  hub: string;
  prefix: string;
  head: string | undefined;
  nodes: GitNode[];
  unreadable: string[];
  /** The LynqNodes of `nodes` as parsed, by blob id (what the memo keeps). */
  summaries: ReadonlyMap<string, NodeSummary>;
  commits: ReadonlyMap<string, NodeCommit>;
  observed: ReadonlyMap<string, EngineObservation>;
  containing: ReadonlyMap<string, Set<string> | undefined>;
  /** The LynqNodes (`listLynqNodes`), when the read was asked to list them. */
  lynqNodes: LynqNodeListing | undefined;
  /** When the cluster was read (milliseconds since the epoch). */
  readAt: number;
  listRequests: number;
};

/**
 * One hub's read (judged by `judgeHubHealth`; reads only, the sinks write): the nodes Git
 * has, their last commits (one `git log` walk), one LIST per engine kind and namespace
 * (label `lynq.sh/hub=<hub>`, paginated), and with `lynqNodes` the hub's LynqNodes. The
 * LISTs the hub's settings let it know before Git is read (`expected`, `lynqNodes`) start
 * at once and run while git works; a kind or namespace only the LynqNodes name is listed
 * after.
 */
export async function readCluster(
  input: ReadBackInput & { lynqNodes?: readonly string[]; lists?: ClusterLists },
): Promise<ClusterRead> {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  // When the read began: how old it is counts from before anything was listed.
  const readAt = input.clock();
  const listBefore = input.kube.requests.list;
  const lists = input.lists ?? startClusterLists(input.kube, input.hub, input.expected ?? [], input.lynqNodes);
  // The commit walk is a git process of its own: it runs while the LynqNodes are read and the cluster is listed.
  const walking =
    input.head === undefined
      ? Promise.resolve({ last: new Map<string, NodeCommit>(), all: new Set<string>() })
      : input.repo.nodeCommits(input.head, input.prefix);
  walking.catch(() => undefined);
  const { nodes, unreadable, summaries } = await readNodes(input, input.head);
  const gitMs = ms();

  // One LIST per kind and namespace the hub's engine objects live in (one namespace, in practice).
  const wanted = new Map<string, { kind: string; namespace: string }>();
  for (const node of nodes)
    for (const object of node.objects)
      if (READERS[object.kind] !== undefined)
        wanted.set(`${object.kind}/${object.namespace}`, { kind: object.kind, namespace: object.namespace });
  // Each object is read as it arrives (its page then being garbage); only what the rules use is kept.
  const observed = new Map<string, EngineObservation>();
  for (const { kind, namespace } of [...wanted.values()].sort((a, b) =>
    `${a.kind}/${a.namespace}`.localeCompare(`${b.kind}/${b.namespace}`),
  )) {
    for (const [key, observation] of await lists.engine(kind, namespace)) observed.set(key, observation);
  }
  const listing = await lists.settle();

  const listMs = ms();
  const revisions = new Set<string>();
  for (const observation of observed.values()) {
    const commit = commitOfRevision(observation.revision);
    if (commit !== undefined) revisions.add(commit);
  }
  // An engine at the branch head (the usual steady state) contains what the walk listed: no git process for it.
  const walked = await walking;
  const commits = walked.last;
  const containing = await input.repo.commitsContaining(
    revisions,
    input.prefix,
    input.head === undefined ? undefined : new Map([[input.head, walked.all]]),
  );
  input.logger.info(
    {
      hub: input.hub,
      nodes: nodes.length,
      engineObjects: observed.size,
      gitMs,
      listMs: listMs - gitMs,
      ancestryMs: ms() - listMs,
    },
    'cluster read',
  );
  return {
    hub: input.hub,
    prefix: input.prefix,
    head: input.head,
    nodes,
    unreadable,
    summaries,
    commits,
    observed,
    containing,
    lynqNodes: listing,
    readAt,
    listRequests: input.kube.requests.list - listBefore,
  };
}

/** The LISTs of one read, each started once: those known ahead start before git is read, while it is. */
export type ClusterLists = {
  engine(kind: string, namespace: string): Promise<Array<readonly [string, EngineObservation]>>;
  /** Waits for every LIST started (a failed one throws here), and gives the LynqNodes when they were listed. */
  settle(): Promise<LynqNodeListing | undefined>;
};

/**
 * Start the LISTs a hub's settings tell ahead (`expected` engine kinds and namespaces,
 * `lynqNodes`: the namespaces whose LynqNodes to list, metadata only where `statuses`
 * knows their statuses). Each runs in its own promise, its
 * failure handled until `settle`, so a git failure first leaves no unhandled rejection.
 */
export function startClusterLists(
  kube: KubeClient,
  hub: string,
  expected: ReadonlyArray<{ kind: string; namespace: string }>,
  lynqNodes?: readonly string[],
  statuses?: StatusMemo,
): ClusterLists {
  const lists = new Map<string, Promise<Array<readonly [string, EngineObservation]>>>();
  const engine = (kind: string, namespace: string) => {
    const key = `${kind}/${namespace}`;
    let listing = lists.get(key);
    if (listing === undefined) {
      const { resource, reader } = READERS[kind]!;
      listing = kube.list(
        resource,
        namespace,
        hubSelector(hub),
        (object) =>
          [
            `${kind}/${object.metadata?.namespace ?? namespace}/${object.metadata?.name ?? ''}`,
            reader.observe(object),
          ] as const,
      );
      listing.catch(() => undefined);
      lists.set(key, listing);
    }
    return listing;
  };
  for (const { kind, namespace } of expected) if (READERS[kind] !== undefined) engine(kind, namespace);
  const nodes = lynqNodes === undefined ? undefined : listLynqNodes(kube, hub, lynqNodes, statuses);
  nodes?.catch(() => undefined);
  return {
    engine,
    async settle() {
      await Promise.all(lists.values());
      return nodes;
    },
  };
}

/**
 * The engine kind and namespace the hub's settings give its nodes' engine objects (an
 * Application or the Kustomizations of a node, in spec.gitops.<engine>.namespace): listed
 * before the LynqNodes are read. A node whose LynqNode names others is listed for after.
 */
export function expectedEngineObjects(hub: Hub): Array<{ kind: string; namespace: string }> {
  const gitops = resolveGitops(hub);
  if (gitops.engine === 'argocd') return [{ kind: 'Application', namespace: gitops.argocd.namespace }];
  if (gitops.engine === 'flux') return [{ kind: 'Kustomization', namespace: gitops.flux.namespace }];
  return [];
}

/** The nodes Git has at `head`, LynqNodes parsed earlier taken from the memo (and the memo kept up to date). */
async function readNodes(
  input: Pick<ReadBackInput, 'hub' | 'prefix' | 'namespace' | 'repo' | 'memo' | 'logger'>,
  head: string | undefined,
  loaded?: ReadonlyMap<string, NodeSummary>,
): Promise<{ nodes: GitNode[]; unreadable: string[]; summaries: ReadonlyMap<string, NodeSummary> }> {
  const known = loaded ?? (await input.memo?.load(input.hub)) ?? new Map<string, NodeSummary>();
  const { nodes, unreadable, parsed } = await readGitNodes(input.repo, head, input.prefix, input.namespace, known);
  if (input.memo !== undefined && (parsed.size !== known.size || [...parsed.keys()].some((id) => !known.has(id)))) {
    // Only speed is lost when this fails.
    await input.memo
      .save(input.hub, parsed)
      .catch((error: unknown) =>
        input.logger.warn({ hub: input.hub, err: String(error) }, 'parsed LynqNodes not kept'),
      );
  }
  return { nodes, unreadable, summaries: parsed };
}

/**
 * A read carried forward from its head to `head`, a descendant the caller made itself (the
 * sync's commit on the head the read saw), without asking the cluster again: the nodes Git
 * has at `head`, and the last commit of each node the new commits changed (one `git log`
 * of `read.head..head`). What the engine reported is kept as read: it could not have
 * applied a commit made after it was read, so a node the new commits changed is judged not
 * applied (Progressing, or what the engine said was wrong with it), as a fresh read right
 * after the commit would judge it.
 */
export async function advanceClusterRead(
  read: ClusterRead,
  input: Pick<ReadBackInput, 'repo' | 'namespace' | 'memo' | 'logger'> & { head: string },
): Promise<ClusterRead> {
  if (read.head === input.head) return read;
  const range = read.head === undefined ? input.head : `${read.head}..${input.head}`;
  const walking = input.repo.nodeCommits(range, read.prefix).then((walk) => walk.last);
  walking.catch(() => undefined);
  // The read's own parsed LynqNodes stand for the memo: only the new commits' LynqNodes are parsed.
  const { nodes, unreadable, summaries } = await readNodes(
    { ...input, hub: read.hub, prefix: read.prefix },
    input.head,
    read.summaries,
  );
  const commits = new Map(read.commits);
  for (const [key, commit] of await walking) commits.set(key, commit);
  return { ...read, head: input.head, nodes, unreadable, summaries, commits };
}

/** The phase rules per node of a read, at the clock's time now. */
export function judgeHubHealth(
  read: ClusterRead,
  input: Pick<ReadBackInput, 'clock' | 'logger' | 'openPullRequests'>,
): HubHealth {
  const started = performance.now();
  const now = input.clock();
  const health = read.nodes.map((node) =>
    judge(node, read.hub, input, read.commits.get(`${node.form}/${node.uid}`), read.observed, read.containing, now),
  );
  input.logger.info(
    {
      hub: read.hub,
      nodes: health.length,
      engineObjects: read.observed.size,
      judgeMs: Math.round(performance.now() - started),
    },
    'health read back',
  );
  return { hub: read.hub, nodes: health, unreadable: read.unreadable, requests: { list: read.listRequests } };
}

function judge(
  node: GitNode,
  hub: string,
  input: Pick<ReadBackInput, 'openPullRequests'>,
  commit: NodeCommit | undefined,
  observed: ReadonlyMap<string, EngineObservation>,
  containing: ReadonlyMap<string, Set<string> | undefined>,
  now: number,
): NodeHealth {
  const objects = node.objects.map((object) => {
    const observation = observed.get(`${object.kind}/${object.namespace}/${object.name}`);
    const revision = commitOfRevision(observation?.revision);
    const applied =
      observation !== undefined &&
      commit !== undefined &&
      revision !== undefined &&
      containing.get(revision)?.has(commit.commit) === true;
    return { observation, applied };
  });
  const verdict = nodePhase({
    objects,
    sinceCommitSeconds: commit === undefined ? undefined : now / 1000 - commit.time,
    timeoutSeconds: node.timeoutSeconds,
  });
  // Flux: one Kustomization per DAG level, in level order; Argo CD: one Application for all.
  const levels = [...new Set(node.resources.map((resource) => resource.level))].sort((a, b) => a - b);
  const resourcePhases = node.resources.map((resource) => {
    const index = objects.length > 1 ? Math.max(0, levels.indexOf(resource.level)) : 0;
    const parent = objects[index] ?? { observation: undefined, applied: false };
    const own = parent.observation?.resources?.find(
      (item) =>
        item.kind === resource.kind &&
        item.name === resource.name &&
        (item.namespace ?? '') === (resource.namespace ?? item.namespace ?? ''),
    );
    const phase = resourcePhase(parent, own);
    return {
      id: resource.id,
      kind: resource.kind,
      name: resource.name,
      namespace: resource.namespace,
      phase,
      message: phase === 'Degraded' ? (own?.message ?? parent.observation?.message) : undefined,
    };
  });
  const key = `${node.form}/${node.uid}`;
  const open = input.openPullRequests?.get(key);
  const merged =
    commit?.pullRequest !== undefined ? { number: commit.pullRequest, state: 'merged' as const } : undefined;
  return {
    hub,
    form: node.form,
    uid: node.uid,
    name: node.name,
    namespace: node.namespace,
    phase: verdict.phase,
    applied: verdict.applied,
    reason: verdict.reason,
    message: verdict.message,
    commit,
    pullRequest: open ?? merged,
    appliedRevision: objects[0]?.observation?.revision,
    resources: {
      desired: resourcePhases.length,
      ready: resourcePhases.filter((resource) => resource.phase === 'Ready').length,
      failed: resourcePhases.filter((resource) => resource.phase === 'Degraded').length,
    },
    resourcePhases,
    engineObjects: node.objects,
    formHash: node.formHash,
  };
}
