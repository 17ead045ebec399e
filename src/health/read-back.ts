import { performance } from 'node:perf_hooks';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import { commitsContaining, lastNodeCommits, type NodeCommit } from '../git/node-commits.ts';
import type { KubeClient } from '../kube/client.ts';
import { ARGO_APPLICATION, FLUX_KUSTOMIZATION, hubSelector, type KubeResource } from '../kube/resources.ts';
import type { Logger } from '../logger.ts';
import { argoHealthReader } from './argocd.ts';
import { fluxHealthReader } from './flux.ts';
import { readGitNodes, type GitNode } from './git-nodes.ts';
import type { NodeMemo } from './node-memo.ts';
import { nodePhase, resourcePhase } from './phase.ts';
import { commitOfRevision } from './revision.ts';
import type { EngineObservation, HealthReader, NodePhase, ResourcePhase } from './types.ts';

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
  resourcePhases: Array<{ id: string; kind: string; name: string; namespace?: string; phase: ResourcePhase; message?: string }>;
  /** The Application or Kustomizations that apply the node, as its LynqNode names them. */
  engineObjects: GitNode['objects'];
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
};

const READERS: Record<string, { resource: KubeResource; reader: HealthReader }> = {
  Application: { resource: ARGO_APPLICATION, reader: argoHealthReader },
  Kustomization: { resource: FLUX_KUSTOMIZATION, reader: fluxHealthReader },
};

/**
 * One hub's health: the nodes Git has, their last commits (one `git log` walk, run
 * alongside the rest), one LIST per engine kind and namespace (label
 * `lynq.sh/hub=<hub>`, paginated), then the phase rules per node. Reads only: the sinks
 * write.
 */
export async function readHubHealth(input: ReadBackInput): Promise<HubHealth> {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  const git = (args: readonly string[]) => input.repo.git(args);
  // The commit walk is a git process of its own: it runs while the LynqNodes are read and the cluster is listed.
  const walking = input.head === undefined ? Promise.resolve(new Map<string, NodeCommit>()) : lastNodeCommits(git, input.head, input.prefix);
  walking.catch(() => undefined);
  const known = (await input.memo?.load(input.hub)) ?? new Map();
  const { nodes, unreadable, parsed } = await readGitNodes(input.repo, input.head, input.prefix, input.namespace, known);
  if (input.memo !== undefined && (parsed.size !== known.size || [...parsed.keys()].some((id) => !known.has(id)))) {
    // Only speed is lost when this fails.
    await input.memo.save(input.hub, parsed).catch((error: unknown) => input.logger.warn({ hub: input.hub, err: String(error) }, 'parsed LynqNodes not kept'));
  }
  const listBefore = input.kube.requests.list;
  const gitMs = ms();

  // One LIST per kind and namespace the hub's engine objects live in (one namespace, in practice).
  const wanted = new Map<string, { kind: string; namespace: string }>();
  for (const node of nodes)
    for (const object of node.objects) if (READERS[object.kind] !== undefined) wanted.set(`${object.kind}/${object.namespace}`, { kind: object.kind, namespace: object.namespace });
  // Each object is read as it arrives (its page then being garbage); only what the rules use is kept.
  const observed = new Map<string, EngineObservation>();
  for (const { kind, namespace } of [...wanted.values()].sort((a, b) => `${a.kind}/${a.namespace}`.localeCompare(`${b.kind}/${b.namespace}`))) {
    const { resource, reader } = READERS[kind]!;
    const seen = await input.kube.list(
      resource,
      namespace,
      hubSelector(input.hub),
      (object) => [`${kind}/${object.metadata?.namespace ?? namespace}/${object.metadata?.name ?? ''}`, reader.observe(object)] as const,
    );
    for (const [key, observation] of seen) observed.set(key, observation);
  }

  const listMs = ms();
  const revisions = new Set<string>();
  for (const observation of observed.values()) {
    const commit = commitOfRevision(observation.revision);
    if (commit !== undefined) revisions.add(commit);
  }
  const containing = await commitsContaining(git, revisions, input.prefix);
  const commits = await walking;
  const now = input.clock();

  const health = nodes.map((node) => judge(node, input, commits.get(`${node.form}/${node.uid}`), observed, containing, now));
  input.logger.info({ hub: input.hub, nodes: health.length, engineObjects: observed.size, gitMs, listMs: listMs - gitMs, judgeMs: ms() - listMs }, 'health read back');
  return { hub: input.hub, nodes: health, unreadable, requests: { list: input.kube.requests.list - listBefore } };
}

function judge(
  node: GitNode,
  input: ReadBackInput,
  commit: NodeCommit | undefined,
  observed: ReadonlyMap<string, EngineObservation>,
  containing: ReadonlyMap<string, Set<string> | undefined>,
  now: number,
): NodeHealth {
  const objects = node.objects.map((object) => {
    const observation = observed.get(`${object.kind}/${object.namespace}/${object.name}`);
    const revision = commitOfRevision(observation?.revision);
    const applied = observation !== undefined && commit !== undefined && revision !== undefined && containing.get(revision)?.has(commit.commit) === true;
    return { observation, applied };
  });
  const verdict = nodePhase({ objects, sinceCommitSeconds: commit === undefined ? undefined : now / 1000 - commit.time, timeoutSeconds: node.timeoutSeconds });
  // Flux: one Kustomization per DAG level, in level order; Argo CD: one Application for all.
  const levels = [...new Set(node.resources.map((resource) => resource.level))].sort((a, b) => a - b);
  const resourcePhases = node.resources.map((resource) => {
    const index = objects.length > 1 ? Math.max(0, levels.indexOf(resource.level)) : 0;
    const parent = objects[index] ?? { observation: undefined, applied: false };
    const own = parent.observation?.resources?.find((item) => item.kind === resource.kind && item.name === resource.name && (item.namespace ?? '') === (resource.namespace ?? item.namespace ?? ''));
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
  const merged = commit?.pullRequest !== undefined ? { number: commit.pullRequest, state: 'merged' as const } : undefined;
  return {
    hub: input.hub,
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
  };
}
