import type { Hub } from '../config/load.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import { perClusterFlux } from '../gitops/clusters.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { type DiffOptions, type DiffResult, diffHub, unchangedHub, withUnchanged } from '../plan/diff.ts';
import { type HubState, hubStateText, parseHubState, sameFolders } from '../plan/hub-state.ts';
import { hubPrefixes } from '../plan/prefixes.ts';
import type { NodeInput, PreparedHub } from '../plan/render-hub.ts';
import type { TreeListing } from '../plan/types.ts';
import { VerifiedOutputs } from '../plan/verified-outputs.ts';
import type { SyncDeps } from './run-types.ts';

/** The plan step's result: the diff, the head it was made on, every path it listed, the seals it checked, and the hub's state when unchanged. */
export type PlannedHub = DiffResult & {
  head: string | undefined;
  existing: TreeListing;
  verified?: VerifiedOutputs;
  told?: VerifiedOutputs;
  state: string | undefined;
};

export type PlanInput = {
  hub: Hub;
  root: string;
  formNames: ReadonlySet<string>;
  prepared: PreparedHub;
  /** What the prepared inputs were computed from (rows-digest.ts), kept in the hub state. */
  digest: string;
  repo: ManifestsRepo;
  git: GitSide;
  /** The state a sync last left the hub whole in (plan/hub-state.ts), and every node's key (read when needed). */
  stateKnown: string | undefined;
  loadKnown: () => Promise<ReadonlySet<string>>;
  deps: SyncDeps;
  defer: DiffOptions['defer'];
};

/** What Git has for the hub before the plan looks into it: the remote head and the ids of the hub's node and apps folders. */
export type GitSide = {
  repo: ManifestsRepo;
  head: string | undefined;
  folders: [nodes: string | undefined, apps: string | undefined];
};

export async function readGitSide(hub: Hub, root: string, openRepo: () => Promise<ManifestsRepo>): Promise<GitSide> {
  const repo = await openRepo();
  const head = await repo.fetch(hub.spec.publish.branch);
  const [nodes, apps] = await repo.objectIds(head, hubPrefixes(hub, root));
  return { repo, head, folders: [nodes, apps] };
}

/**
 * The plan step. Against the state a sync last left the hub whole in (plan/hub-state.ts),
 * while the hub's folders in Git are as it left them: the same inputs are an unchanged hub
 * without a listing; other inputs are looked into only for the nodes whose input differs,
 * or that came or went (a few thousand at most). Otherwise Git is asked for every node
 * folder (one line per node) and the apps files, and every node is checked by its key or
 * its LynqNode. The files of a node are listed only when the diff must look into it
 * (`existing` holds those and the apps files: every path a later step asks about).
 */
export async function planHub(input: PlanInput): Promise<PlannedHub> {
  const { hub, repo, deps, prepared } = input;
  const { head, folders } = input.git;
  const whole = prepared.failures.length === 0 && prepared.unidentified.length === 0;
  const state = whole ? hubStateText(prepared.inputs, folders, input.digest) : undefined;
  if (state !== undefined && state === input.stateKnown)
    return { ...unchangedHub(hub.name, prepared.inputs), head, existing: new Map(), state };
  const known = state !== undefined && input.stateKnown !== undefined ? parseHubState(input.stateKnown) : undefined;
  const [nodesPrefix, appsPrefix] = hubPrefixes(hub, input.root);
  const since =
    known !== undefined && sameFolders(known.folders, folders) ? changesSince(known, prepared.inputs) : undefined;
  let nodeFolders: Map<string, string>;
  let apps: TreeListing;
  let verified: VerifiedOutputs;
  // What earlier syncs told of the nodes a rollout holds (none without a paced form), in either case.
  const told = input.defer === undefined ? undefined : await input.deps.verifiedStore?.loadTold(hub);
  if (since !== undefined) {
    // Two reads of the same commit, neither needing the other: asked at once.
    const [ids, appsListing] = await Promise.all([
      repo.objectIds(
        head,
        since.inGit.map((node) => `${nodesPrefix}/${node}`),
      ),
      repo.listTree(head, appFilesOf(hub, appsPrefix, since.inGit)),
    ]);
    nodeFolders = new Map(
      since.inGit.flatMap((node, index) => (ids[index] === undefined ? [] : [[node, ids[index]!] as const])),
    );
    apps = appsListing;
    // The nodes' keys are not read: the few nodes looked into are checked by their LynqNodes.
    verified = new VerifiedOutputs(undefined, told);
  } else {
    [nodeFolders, apps] = await Promise.all([repo.listNodeFolders(head, nodesPrefix), repo.listTree(head, appsPrefix)]);
    verified = new VerifiedOutputs(await input.loadKnown(), told);
  }
  const existing: TreeListing = new Map(apps);
  const listFiles = async (folders: readonly string[]): Promise<TreeListing> => {
    // Past a few thousand folders (a first sync on a fresh cache), one listing of the whole hub is cheaper.
    const listing = await repo.listTree(
      head,
      folders.length > LIST_WHOLE_HUB_AT ? nodesPrefix : folders.map((folder) => `${folder}/`),
    );
    for (const [path, id] of listing) existing.set(path, id);
    return listing;
  };
  const storeAhead =
    deps.storeAhead === true ? (files: Iterable<readonly [string, string]>) => repo.storeAhead(files) : undefined;
  const diff = await diffHub({
    hub,
    root: input.root,
    formNames: input.formNames,
    prepared: since === undefined ? prepared : { ...prepared, inputs: since.changed },
    nodeFolders,
    apps,
    listFiles,
    readBlobs: (ids) => repo.readBlobs(ids),
    verified,
    storeAhead,
    defer: input.defer,
  });
  const plan =
    since === undefined ? diff.plan : withUnchanged(diff.plan, hub.name, since.untouched, known!.inputs.size);
  const allUnchanged = plan.nodes.every((node) => node.status === 'unchanged');
  return {
    plan,
    deferred: diff.deferred,
    toldEarlier: diff.toldEarlier,
    head,
    existing,
    verified: since === undefined ? verified : undefined,
    told: verified,
    state: allUnchanged ? state : undefined,
  };
}

/**
 * The nodes whose input differs from the state's (`changed`), and those it has that are gone;
 * `inGit`: the nodes of both that Git has. Undefined past a few thousand: a listing of the
 * whole hub is then cheaper than asking for them by name.
 */
function changesSince(
  known: HubState,
  inputs: readonly NodeInput[],
): { changed: NodeInput[]; untouched: NodeInput[]; inGit: string[] } | undefined {
  const changed: NodeInput[] = [];
  const untouched: NodeInput[] = [];
  const inGit: string[] = [];
  const current = new Set<string>();
  for (const input of inputs) {
    const node = `${input.form}/${input.uid}`;
    current.add(node);
    const before = known.inputs.get(node);
    if (before === input.inputHash) untouched.push(input);
    else {
      changed.push(input);
      if (before !== undefined) inGit.push(node);
    }
  }
  for (const node of known.inputs.keys()) if (!current.has(node)) inGit.push(node);
  return inGit.length + changed.length > LIST_WHOLE_HUB_AT ? undefined : { changed, untouched, inGit };
}

/**
 * Where the apps files of these nodes (`<form>/<uid>`) may be: `<appsPrefix>/<form>/<uid>.yaml`,
 * and, for Flux with one instance per cluster, the same under each cluster's path (a node's
 * cluster is its row's, which Git's file may not have caught up with: every cluster is asked).
 */
function appFilesOf(hub: Hub, appsPrefix: string, nodes: readonly string[]): string[] {
  const gitops = resolveGitops(hub);
  const clusters = perClusterFlux(gitops) ? (gitops.clusters ?? []).map((cluster) => `${cluster.name}/`) : [];
  return nodes.flatMap((node) => ['', ...clusters].map((cluster) => `${appsPrefix}/${cluster}${node}.yaml`));
}

/** How many node folders a sync lists by name before it lists the whole hub instead. */
const LIST_WHOLE_HUB_AT = 2000;
