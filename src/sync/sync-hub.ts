import type { Form, Hub } from '../config/load.ts';
import { ConfigError, ForgeError, GitError, InternalError, isLynqError, KubeError, messageOf, SourceError } from '../errors.ts';
import type { PullRequestClient } from '../forge/types.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { Logger } from '../logger.ts';
import { type DiffOptions, type DiffResult, diffHub, unchangedHub, withUnchanged } from '../plan/diff.ts';
import { type HubState, hubStateHead, hubStateText, parseHubState, sameFolders, stateInputs } from '../plan/hub-state.ts';
import { rowsDigest } from '../plan/rows-digest.ts';
import { failDuplicateObjects } from '../plan/object-identity.ts';
import { unknownScopes } from '../config/kind-scope.ts';
import { hubPrefixes } from '../plan/prefixes.ts';
import { type NodeInput, type PreparedHub, type PrepareOptions, prepareHub } from '../plan/render-hub.ts';
import { changedNodes, countByStatus, fileChanges, type NodeChange, type Plan, type TreeListing } from '../plan/types.ts';
import { VerifiedOutputs } from '../plan/verified-outputs.ts';
import { checkRoot } from '../render/paths.ts';
import type { HubRow } from '../sources/rows.ts';
import { commitMessage } from './commit-message.ts';
import { gateDeletions } from './deletion-guard.ts';
import type { SyncPhase } from './phases.ts';
import { type Proposal, proposeChanges } from './propose.ts';
import type { Publisher } from './publisher.ts';
import type { RolloutHealth } from '../health/types.ts';
import { deferrable, gateRollout, needsRolloutHealth, waitingNotes } from './rollout-gate.ts';
import { botBranch, type ResolvedRouting, resolveRouting, routePlan, usesPullRequests } from './routing.ts';
import type { VerifiedStore } from './verified-store.ts';

export type SyncDeps = {
  logger: Logger;
  /** Read the hub's rows (a RowSource behind it). */
  readRows: (hub: Hub, signal?: AbortSignal) => Promise<HubRow[]>;
  /** Open the manifests repository named by the hub (or the --repo override). */
  openRepo: (hub: Hub) => Promise<ManifestsRepo>;
  publisher: Publisher;
  /** The forge that hosts the hub's pull requests; asked for only when the hub routes changes there. */
  openForge?: (hub: Hub) => Promise<PullRequestClient>;
  /** Milliseconds since the epoch, for commit times. */
  clock?: () => number;
  bridgeVersion: string;
  /** Seals checked by earlier syncs (none for a dry run): saves reading LynqNodes that are as they were. */
  verifiedStore?: VerifiedStore;
  /** Store the files of changed nodes in the cache clone while the rest still renders (not for a dry run, which commits nothing). */
  storeAhead?: boolean;
  /** Told when a hub enters a step; the CLI shows it on a terminal, a service can time each step. */
  onPhase?: (hub: string, phase: SyncPhase, detail?: string) => void;
  /** Stops the sync between steps and, where the step supports it, inside it (a service shutting down). */
  signal?: AbortSignal;
  /** The cluster's health for the rollout gate (built from the health read-back), read from the sync's own repository at the planned head; absent or undefined: no cluster, maxSkew paces per sync. */
  rolloutHealth?: (hub: Hub, repo: ManifestsRepo, head: string | undefined, signal?: AbortSignal) => Promise<RolloutHealth | undefined>;
  /** Read the rollout health even when nothing waits (`lynq rollout status`). */
  rolloutStatus?: boolean;
};

export type SyncOptions = { allowDeletions: boolean };

/** How a hub's sync failed before anything was published: its kind, for the exit code and metrics. */
export type FailureOutcome = 'config-failed' | 'source-failed' | 'git-failed' | 'cluster-failed' | 'aborted';

/**
 * How one hub's sync ended. `config-failed`, `source-failed` and `git-failed` published
 * nothing; `published` (a commit pushed to the target branch) and `unchanged` may still hold
 * failed or held-back nodes in their plan, and say what the pull request side did.
 * `pull-request-failed`: the push-routed part (`commit`) went out, the pull request did not.
 * `aborted`: the sync's signal fired (a service shutting down); what was pushed before stays.
 */
export type HubSyncResult =
  | { hub: string; outcome: 'published' | 'unchanged'; plan: Plan; commit: string | undefined; attempts: number; proposal?: Proposal }
  | { hub: string; outcome: 'pull-request-failed'; plan: Plan; commit: string | undefined; attempts: number; error: string }
  | { hub: string; outcome: FailureOutcome; error: string };

/**
 * One hub, end to end, as named steps:
 *
 *   read rows → plan (input hashes, then the diff against the remote head, rendering
 *   only what Git lacks, and not the changes a rollout will hold) → gate (the deletion
 *   guard, the rollout gate, which renders the held changes it gives a slot) → route (push or pull request) →
 *   publish (one commit, pushed) → propose (the bot branch and its pull request)
 *
 * A push rejected because the remote moved (the target or the bot branch) starts again
 * from reading the rows, so a slow sync never publishes rows older than what another sync
 * already published; no node is rendered twice for the same input. Up to
 * `publish.maxPushAttempts` attempts. The health read-back runs after this, per command.
 */
export async function syncHub(hub: Hub, forms: readonly Form[], deps: SyncDeps, options: SyncOptions): Promise<HubSyncResult> {
  const log = deps.logger.child({ hub: hub.name });
  const phase = (name: SyncPhase, detail?: string): void => {
    deps.signal?.throwIfAborted();
    deps.onPhase?.(hub.name, name, detail);
  };
  let repo: ManifestsRepo | undefined;
  /** The current attempt's reading of Git, settled before the repository is closed. */
  let pendingGit: Promise<unknown> | undefined;
  let step: SyncPhase = 'read-rows';
  try {
    const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
    const routing = resolveRouting(hub.spec.publish);
    const branchForPullRequests = botBranch(hub.name, hub.spec.publish);
    const { branch, maxPushAttempts, author } = hub.spec.publish;
    if (usesPullRequests(routing) && branchForPullRequests === branch) {
      throw new ConfigError(`the pull-request branch must differ from the target branch ${branch}`, { hub: hub.name, file: hub.file, field: 'spec.publish.pullRequest.branch' });
    }
    const formNames = new Set(forms.map((form) => form.name));
    for (const line of unknownScopes(forms, hub.spec.kindScopes)) log.warn({ detail: line }, 'kind of unknown scope: rendered namespaced');
    // Every node's key is read only when the hub is not as a sync last left it whole.
    let stateKnown = await deps.verifiedStore?.loadWhole(hub);
    let known: Promise<ReadonlySet<string>> | undefined;
    const loadKnown = () => (known ??= deps.verifiedStore?.load(hub) ?? Promise.resolve(new Set<string>()));
    // Kept across attempts: a push that went out stays published when the bot branch then moves.
    let commit: string | undefined;
    let published = false;
    const memo: PrepareOptions['memo'] = new Map();
    for (let attempt = 1; attempt <= maxPushAttempts; attempt++) {
      const again = attempt === 1 ? '' : ` (attempt ${attempt})`;
      phase((step = 'read-rows'), `reading rows${again}`);
      // What Git has does not depend on the rows: the clone is opened and the remote head
      // asked for while they are read (its git processes start as the database answers).
      const gitSide = readGitSide(hub, root, async () => (repo ??= await deps.openRepo(hub)));
      pendingGit = gitSide.catch(() => undefined);
      const rows = await deps.readRows(hub, deps.signal);
      log.info({ rows: rows.length, attempt }, 'rows read');
      // The rows' texts only until the hub is prepared: at 100,000 rows they are tens of MB.
      let { digest, texts }: { digest: string; texts: string[] | undefined } = rowsDigest(hub, forms, rows, deps.bridgeVersion);
      const prepareNow = (): PreparedHub => {
        const ready = prepareHub(hub, forms, rows, { root, bridgeVersion: deps.bridgeVersion, memo, rowTexts: texts });
        texts = undefined;
        return ready;
      };
      // Rows, hub and forms as the state a sync left the hub whole in was computed from: its
      // inputs are this sync's, and no input hash is computed unless Git's folders moved.
      const sameInputs = stateKnown !== undefined && hubStateHead(stateKnown)?.digest === digest ? parseHubState(stateKnown) : undefined;
      let prepared = sameInputs === undefined ? prepareNow() : undefined;
      const prepare = (): PreparedHub => (prepared ??= prepareNow());
      const nodeCount = prepared?.inputs.length ?? sameInputs!.inputs.size;

      phase((step = 'plan'), `comparing ${nodeCount} nodes with git, rendering what changed${again}`);
      const git = await gitSide;
      repo = git.repo;
      const planned =
        sameInputs !== undefined && sameFolders(sameInputs.folders, git.folders)
          ? { ...unchangedHub(hub.name, stateInputs(sameInputs)), head: git.head, existing: new Map() as TreeListing, state: stateKnown }
          : await planHub({ hub, root, formNames, prepared: prepare(), digest, repo, git, stateKnown, loadKnown, deps, defer: deferrable(forms) });
      log.info({ nodes: nodeCount, rendered: planned.plan.rendered, toldEarlier: planned.toldEarlier }, 'compared with git');
      await remember(deps.verifiedStore, hub, planned, log);
      if (planned.state !== undefined && planned.state !== stateKnown) await rememberState(deps.verifiedStore, hub, (stateKnown = planned.state), log);

      phase((step = 'gate'));
      const plan = await gatePlan({ hub, forms, rows, repo, root, planned, deps, allowDeletions: options.allowDeletions, log });

      phase((step = 'route'));
      const routed = route(plan, routing);
      let head = planned.head;
      if (routed.push.length > 0) {
        phase((step = 'publish'));
        const proposed = { count: routed.propose.length, branch: branchForPullRequests };
        const all = plan.nodes.filter((node) => !routed.propose.includes(node));
        const message = commitMessage(hub.name, routed.push, all, { proposed });
        const result = await deps.publisher.publish({ repo, hub: hub.name, changes: fileChanges(routed.push), head, existing: planned.existing, branch, message, author });
        if (result.outcome === 'moved') {
          log.warn({ attempt }, 'remote branch moved during the sync; reading the rows and planning again on the new head');
          continue;
        }
        log.info({ commit: result.commit, attempt }, 'published');
        commit = result.commit;
        published = true;
        head = result.commit ?? head;
        // Every change pushed as rendered: the hub is whole at the new commit, and the next sync needs no listing.
        if (result.commit !== undefined && routed.propose.length === 0 && leftWhole(prepare(), plan)) {
          const [nodes, apps] = await repo.objectIds(result.commit, hubPrefixes(hub, root));
          await rememberState(deps.verifiedStore, hub, (stateKnown = hubStateText(prepare().inputs, [nodes, apps], digest)), log);
        }
      }
      const outcome = published ? 'published' : 'unchanged';
      if (!usesPullRequests(routing)) return { hub: hub.name, outcome, plan, commit, attempts: attempt };

      phase((step = 'propose'));
      let proposal: Awaited<ReturnType<typeof proposeChanges>>;
      try {
        const forge = await openForge(deps, hub);
        const time = (deps.clock ?? Date.now)() / 1000;
        const input = {
          hub: hub.name,
          repo,
          forge,
          publisher: deps.publisher,
          logger: log,
          target: branch,
          base: head,
          branch: branchForPullRequests,
          nodes: routed.propose,
          existing: planned.existing,
          author,
          time,
          settings: hub.spec.publish.pullRequest,
          waiting: waitingNotes(plan),
        };
        proposal = await proposeChanges(input);
      } catch (error) {
        if (!isLynqError(error) || error instanceof ConfigError) throw error;
        log.error({ err: messageOf(error) }, 'pull request failed');
        return { hub: hub.name, outcome: 'pull-request-failed', plan, commit, attempts: attempt, error: messageOf(error) };
      }
      if (proposal.outcome === 'moved') {
        log.warn({ attempt, branch: branchForPullRequests }, 'pull-request branch moved during the sync; planning again');
        continue;
      }
      return { hub: hub.name, outcome, plan, commit, attempts: attempt, proposal };
    }
    throw new GitError(`the remote branch kept moving: gave up after ${maxPushAttempts} attempts`, { hub: hub.name });
  } catch (error) {
    const outcome = deps.signal?.aborted === true ? 'aborted' : failureOutcome(error, step);
    log.error({ err: messageOf(error), step }, 'sync failed; nothing published');
    return { hub: hub.name, outcome, error: messageOf(error) };
  } finally {
    await pendingGit;
    await repo?.close();
  }
}

type GateInput = {
  hub: Hub;
  forms: readonly Form[];
  rows: readonly HubRow[];
  repo: ManifestsRepo;
  root: string;
  planned: Awaited<ReturnType<typeof planHub>>;
  deps: SyncDeps;
  allowDeletions: boolean;
  log: Logger;
};

/**
 * The gate step: the deletion guard, the check that no two nodes render one object, the
 * rollout gate. A function of its own so that what the object check builds (an entry per
 * rendered object: 500,000 in a first sync of 100,000 nodes) is freed before the commit,
 * not kept alive by the attempt's scope while it publishes.
 */
async function gatePlan(input: GateInput): Promise<Plan> {
  const { hub, forms, repo, planned, deps, log } = input;
  const guarded = gateDeletions(planned.plan, { maxDeletePercent: hub.spec.deletionGuard.maxDeletePercent, allowDeletions: input.allowDeletions });
  const checked = await failDuplicateObjects(guarded, planned.existing, (ids) => repo.readBlobs(ids), input.root, hub.spec.kindScopes);
  const health =
    deps.rolloutHealth !== undefined && (deps.rolloutStatus === true || needsRolloutHealth(checked.plan, forms)) ? await deps.rolloutHealth(hub, repo, planned.head, deps.signal) : undefined;
  // Asked only by a paced form's gate: a no-op sync of 100,000 rows builds no map of them.
  let values: Map<string, HubRow['values']> | undefined;
  const valuesOf = (uid: string) => (values ??= new Map(input.rows.map((row) => [row.uid, row.values]))).get(uid);
  const render = (node: NodeChange) => checked.check(planned.renderLater(node));
  const plan = await gateRollout(checked.plan, { hub, forms, values: valuesOf, health, render, prepare: planned.prepareLater });
  if (plan.rollouts !== undefined) log.info({ rendered: plan.rendered - planned.plan.rendered, waiting: countByStatus(plan.nodes).waiting }, 'rollout gate');
  // The nodes the gate rendered for its slots hold their seals too.
  if (plan.rendered > planned.plan.rendered) await remember(deps.verifiedStore, hub, planned, log);
  return plan;
}

type PlanInput = {
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
type GitSide = { repo: ManifestsRepo; head: string | undefined; folders: [nodes: string | undefined, apps: string | undefined] };

async function readGitSide(hub: Hub, root: string, openRepo: () => Promise<ManifestsRepo>): Promise<GitSide> {
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
async function planHub(input: PlanInput): Promise<DiffResult & { head: string | undefined; existing: TreeListing; verified?: VerifiedOutputs; told?: VerifiedOutputs; state: string | undefined }> {
  const { hub, repo, deps, prepared } = input;
  const { head, folders } = input.git;
  const whole = prepared.failures.length === 0 && prepared.unidentified.length === 0;
  const state = whole ? hubStateText(prepared.inputs, folders, input.digest) : undefined;
  if (state !== undefined && state === input.stateKnown) return { ...unchangedHub(hub.name, prepared.inputs), head, existing: new Map(), state };
  const known = state !== undefined && input.stateKnown !== undefined ? parseHubState(input.stateKnown) : undefined;
  const [nodesPrefix, appsPrefix] = hubPrefixes(hub, input.root);
  const since = known !== undefined && sameFolders(known.folders, folders) ? changesSince(known, prepared.inputs) : undefined;
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
      repo.listTree(
        head,
        since.inGit.map((node) => `${appsPrefix}/${node}.yaml`),
      ),
    ]);
    nodeFolders = new Map(since.inGit.flatMap((node, index) => (ids[index] === undefined ? [] : [[node, ids[index]!] as const])));
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
    const listing = await repo.listTree(head, folders.length > LIST_WHOLE_HUB_AT ? nodesPrefix : folders.map((folder) => `${folder}/`));
    for (const [path, id] of listing) existing.set(path, id);
    return listing;
  };
  const storeAhead = deps.storeAhead === true ? (files: Iterable<readonly [string, string]>) => repo.storeAhead(files) : undefined;
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
  const plan = since === undefined ? diff.plan : withUnchanged(diff.plan, hub.name, since.untouched, known!.inputs.size);
  const allUnchanged = plan.nodes.every((node) => node.status === 'unchanged');
  return {
    plan,
    renderLater: diff.renderLater,
    prepareLater: diff.prepareLater,
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
function changesSince(known: HubState, inputs: readonly NodeInput[]): { changed: NodeInput[]; untouched: NodeInput[]; inGit: string[] } | undefined {
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

/** How many node folders a sync lists by name before it lists the whole hub instead. */
const LIST_WHOLE_HUB_AT = 2000;

function route(plan: Plan, routing: ResolvedRouting): { push: Plan['nodes']; propose: Plan['nodes'] } {
  return usesPullRequests(routing) ? routePlan(plan, routing) : { push: changedNodes(plan), propose: [] };
}

/**
 * What a failed sync was, by the class of its error: a config error is a config failure
 * wherever it is found, a database error a source failure, a git or forge error (and
 * anything an open or push step ends with) a git failure. Anything else is a bug.
 */
function failureOutcome(error: unknown, step: SyncPhase): FailureOutcome {
  if (error instanceof ConfigError) return 'config-failed';
  if (error instanceof SourceError) return 'source-failed';
  if (error instanceof GitError || error instanceof ForgeError) return 'git-failed';
  // The rollout gate reads health from the cluster before anything is published.
  if (error instanceof KubeError) return 'cluster-failed';
  if (isLynqError(error)) return step === 'read-rows' ? 'source-failed' : 'git-failed';
  throw error instanceof InternalError ? error : new InternalError(`sync of one hub failed in step ${step}: ${messageOf(error)}`, {}, { cause: error });
}

/** Keep this sync's checked seals for the next one; a failure to write costs only speed. */
async function remember(store: VerifiedStore | undefined, hub: Hub, planned: { verified?: VerifiedOutputs; told?: VerifiedOutputs }, log: Logger): Promise<void> {
  // The keys only when they were all read (`verified`); the told changes of every plan, which looks into every node a rollout holds.
  const keys = planned.verified?.changed();
  const told = planned.told?.toldChanged();
  if (store === undefined) return;
  try {
    if (keys !== undefined) await store.save(hub, keys);
    if (told !== undefined) await store.saveTold(hub, told);
  } catch (error) {
    log.warn({ err: messageOf(error) }, 'could not keep the checked seals; the next sync reads every LynqNode');
  }
}

/** No node failed, held, conflicted or waiting: what Git has after the push is every node as rendered. */
function leftWhole(prepared: PreparedHub, plan: Plan): boolean {
  if (prepared.failures.length > 0 || prepared.unidentified.length > 0) return false;
  return plan.nodes.every((node) => node.status === 'unchanged' || node.status === 'added' || node.status === 'updated' || node.status === 'removed');
}

async function rememberState(store: VerifiedStore | undefined, hub: Hub, state: string | undefined, log: Logger): Promise<void> {
  try {
    await store?.saveWhole(hub, state);
  } catch (error) {
    log.warn({ err: messageOf(error) }, 'could not keep the state the sync left the hub in; the next sync checks it node by node');
  }
}

async function openForge(deps: SyncDeps, hub: Hub): Promise<PullRequestClient> {
  if (deps.openForge === undefined) throw new ConfigError('this hub routes changes to pull requests, but no forge is set up', { hub: hub.name, file: hub.file, field: 'spec.publish.platform' });
  return deps.openForge(hub);
}
