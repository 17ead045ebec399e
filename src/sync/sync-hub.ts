import type { Form, Hub } from '../config/load.ts';
import {
  ConfigError,
  ForgeError,
  GitError,
  InternalError,
  isLynqError,
  KubeError,
  messageOf,
  SourceError,
} from '../errors.ts';
import type { PullRequestClient } from '../forge/types.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { NodeHealth } from '../health/read-back.ts';
import type { Logger } from '../logger.ts';
import { unknownScopes } from '../config/kind-scope.ts';
import {
  type HubState,
  hubStateHead,
  hubStateText,
  parseHubState,
  sameFolders,
  stateInputs,
} from '../plan/hub-state.ts';
import { unchangedHub } from '../plan/diff.ts';
import { rowsDigest } from '../plan/rows-digest.ts';
import { hubPrefixes } from '../plan/prefixes.ts';
import { type PreparedHub, type PrepareOptions, prepareHub } from '../plan/render-hub.ts';
import { changedNodes, fileChanges, type Plan, type TreeListing } from '../plan/types.ts';
import { checkRoot } from '../render/paths.ts';
import type { HubRow } from '../sources/rows.ts';
import { commitMessage } from './commit-message.ts';
import { gatePlan } from './gate-step.ts';
import { leftWhole, rememberSeals, rememberState } from './hub-memory.ts';
import type { SyncPhase } from './phases.ts';
import { type GitSide, type PlannedHub, planHub, readGitSide } from './plan-step.ts';
import { readPausedNodes } from './pauses.ts';
import { proposeChanges } from './propose.ts';
import { deferrable, waitingNotes } from './rollout-gate.ts';
import { botBranch, type ResolvedRouting, resolveRouting, routePlan, usesPullRequests } from './routing.ts';

import type { FailureOutcome, GateHealth, HubSyncResult, SyncDeps, SyncOptions } from './run-types.ts';

export type { FailureOutcome, GateHealth, HubSyncResult, RunHandOff, SyncDeps, SyncOptions } from './run-types.ts';

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
 * `publish.maxPushAttempts` attempts. The health read-back runs after this, per command
 * (SyncOptions.handOff gives it the run's repository and the gate's read).
 */
export function syncHub(
  hub: Hub,
  forms: readonly Form[],
  deps: SyncDeps,
  options: SyncOptions,
): Promise<HubSyncResult> {
  return new HubRun(hub, forms, deps, options).sync();
}

/** The plan of a hub as a sync would gate it, and the nodes' health the gate read; nothing published (`lynq rollout status`). */
export type PlanOnlyResult =
  | { hub: string; outcome: 'planned'; plan: Plan; nodes: readonly NodeHealth[] }
  | { hub: string; outcome: FailureOutcome; error: string };

/**
 * Read rows → plan → gate, and stop: what the next sync would publish and hold, and where
 * each paced form's rollout stands. The gate reads the cluster's health whenever `deps`
 * has a reader (`rolloutStatus`), even when nothing waits.
 */
export function planHubOnly(hub: Hub, forms: readonly Form[], deps: SyncDeps): Promise<PlanOnlyResult> {
  return new HubRun(hub, forms, { ...deps, rolloutStatus: true }, { allowDeletions: false }).planOnly();
}

/** A hub's settings a run checks before it starts. */
type RunSettings = { root: string; routing: ResolvedRouting; branchForPullRequests: string };

/**
 * The hub's node inputs for one attempt: the digest of what they are computed from
 * (rows-digest.ts), the state's inputs when that digest is the state's, and the prepared
 * hub, made when first asked.
 */
type HubInputs = { digest: string; prepare: () => PreparedHub; sameInputs: HubState | undefined; nodeCount: number };

/** One attempt's rows, their inputs, their plan, and the plan as the gates left it. */
type Gated = { rows: readonly HubRow[]; inputs: HubInputs; planned: PlannedHub; plan: Plan };

/**
 * One run of one hub: its repository (opened by the first attempt, closed at the end),
 * the step it is in (what a failure is counted as), what it pushed, and what earlier
 * syncs left it (the hub's state, its nodes' keys).
 */
class HubRun {
  private readonly log: Logger;
  private repo: ManifestsRepo | undefined;
  /** The current attempt's reading of Git, settled before the repository is closed. */
  private pendingGit: Promise<unknown> | undefined;
  private step: SyncPhase = 'read-rows';
  /** The state a sync last left the hub whole in (plan/hub-state.ts). */
  private stateKnown: string | undefined;
  private known: Promise<ReadonlySet<string>> | undefined;
  /** Kept across attempts: a push that went out stays published when the bot branch then moves. */
  private commit: string | undefined;
  private published = false;
  private gateHealth: GateHealth | undefined;
  private readonly memo: PrepareOptions['memo'] = new Map();

  constructor(
    private readonly hub: Hub,
    private readonly forms: readonly Form[],
    private readonly deps: SyncDeps,
    private readonly options: SyncOptions,
  ) {
    this.log = deps.logger.child({ hub: hub.name });
  }

  async sync(): Promise<HubSyncResult> {
    try {
      const settings = await this.start();
      for (let attempt = 1; attempt <= this.hub.spec.publish.maxPushAttempts; attempt++) {
        const result = await this.attempt(attempt, settings);
        if (result !== 'moved') return result;
      }
      throw new GitError(
        `the remote branch kept moving: gave up after ${this.hub.spec.publish.maxPushAttempts} attempts`,
        { hub: this.hub.name },
      );
    } catch (error) {
      return this.failed(error);
    } finally {
      await this.end();
    }
  }

  async planOnly(): Promise<PlanOnlyResult> {
    try {
      const gated = await this.readPlanAndGate(1, await this.start());
      return { hub: this.hub.name, outcome: 'planned', plan: gated.plan, nodes: this.gateHealth?.nodes ?? [] };
    } catch (error) {
      return this.failed(error);
    } finally {
      await this.end();
    }
  }

  private phase(name: SyncPhase, detail?: string): void {
    this.step = name;
    this.deps.signal?.throwIfAborted();
    this.deps.onPhase?.(this.hub.name, name, detail);
  }

  /** The hub's settings checked, and what earlier syncs left of it. */
  private async start(): Promise<RunSettings> {
    const { hub } = this;
    const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
    const routing = resolveRouting(hub.spec.publish);
    const branchForPullRequests = botBranch(hub.name, hub.spec.publish);
    if (usesPullRequests(routing) && branchForPullRequests === hub.spec.publish.branch) {
      throw new ConfigError(`the pull-request branch must differ from the target branch ${hub.spec.publish.branch}`, {
        hub: hub.name,
        file: hub.file,
        field: 'spec.publish.pullRequest.branch',
      });
    }
    for (const line of unknownScopes(this.forms, hub.spec.kindScopes))
      this.log.warn({ detail: line }, 'kind of unknown scope: rendered namespaced');
    // Every node's key is read only when the hub is not as a sync last left it whole.
    this.stateKnown = await this.deps.verifiedStore?.loadWhole(hub);
    return { root, routing, branchForPullRequests };
  }

  /** One attempt: 'moved' when a branch moved under it (the caller tries again from the rows). */
  private async attempt(attempt: number, settings: RunSettings): Promise<HubSyncResult | 'moved'> {
    const { hub, log } = this;
    const { inputs, planned, plan } = await this.readPlanAndGate(attempt, settings);
    this.phase('route');
    const routed = route(plan, settings.routing);
    let head = planned.head;
    if (routed.push.length > 0) {
      this.phase('publish');
      const pushed = await this.publish(plan, routed, planned, { settings, attempt });
      if (pushed === 'moved') {
        log.warn(
          { attempt },
          'remote branch moved during the sync; reading the rows and planning again on the new head',
        );
        return 'moved';
      }
      head = pushed ?? head;
      // Every change pushed as rendered: the hub is whole at the new commit, and the next sync needs no listing.
      if (pushed !== undefined && routed.propose.length === 0 && leftWhole(inputs.prepare(), plan)) {
        const [nodes, apps] = await this.repo!.objectIds(pushed, hubPrefixes(hub, settings.root));
        await rememberState(
          this.deps.verifiedStore,
          hub,
          (this.stateKnown = hubStateText(inputs.prepare().inputs, [nodes, apps], inputs.digest)),
          log,
        );
      }
    }
    const done = {
      hub: hub.name,
      outcome: this.published ? ('published' as const) : ('unchanged' as const),
      plan,
      commit: this.commit,
      attempts: attempt,
    };
    if (!usesPullRequests(settings.routing)) return this.handOff(done);
    this.phase('propose');
    return this.propose(done, routed.propose, { head, planned, settings });
  }

  /** Read rows → plan → gate: what this attempt would publish. */
  private async readPlanAndGate(attempt: number, settings: RunSettings): Promise<Gated> {
    const { hub, forms, deps, log } = this;
    const again = attempt === 1 ? '' : ` (attempt ${attempt})`;
    this.phase('read-rows', `reading rows${again}`);
    // What Git has does not depend on the rows: the clone is opened and the remote head
    // asked for while they are read (its git processes start as the database answers).
    const gitSide = readGitSide(hub, settings.root, async () => (this.repo ??= await deps.openRepo(hub)));
    this.pendingGit = gitSide.catch(() => undefined);
    const rows = await deps.readRows(hub, deps.signal);
    log.info({ rows: rows.length, attempt }, 'rows read');
    // As fresh as the rows: a node paused or unpaused since the last attempt is planned so.
    const pausedNodes = await readPausedNodes(hub, deps.pausedLynqNodes, deps.signal);
    if (pausedNodes !== undefined) log.info({ paused: pausedNodes.size }, 'LynqNode pause annotations read');
    const inputs = this.hubInputs(rows, pausedNodes, settings);

    this.phase('plan', `comparing ${inputs.nodeCount} nodes with git, rendering what changed${again}`);
    const planned = await this.plan(inputs, await gitSide, settings);

    this.phase('gate');
    const gated = await gatePlan({
      hub,
      forms,
      rows,
      repo: this.repo!,
      root: settings.root,
      planned,
      deps,
      allowDeletions: this.options.allowDeletions,
      log,
    });
    this.gateHealth = gated.health;
    return { rows, inputs, planned, plan: gated.plan };
  }

  /**
   * The hub's node inputs, prepared only when needed: rows, hub and forms with the digest of
   * the state a sync left the hub whole in (and no node paused by its LynqNode) are that
   * state's inputs, and no input hash is computed unless Git's folders moved.
   */
  private hubInputs(
    rows: readonly HubRow[],
    pausedNodes: ReadonlyMap<string, string> | undefined,
    settings: RunSettings,
  ): HubInputs {
    const { hub, forms, deps } = this;
    // The rows' texts only until the hub is prepared: at 100,000 rows they are tens of MB.
    let { digest, texts }: { digest: string; texts: string[] | undefined } = rowsDigest(
      hub,
      forms,
      rows,
      deps.bridgeVersion,
    );
    let prepared: PreparedHub | undefined;
    const prepare = (): PreparedHub => {
      if (prepared !== undefined) return prepared;
      prepared = prepareHub(hub, forms, rows, {
        root: settings.root,
        bridgeVersion: deps.bridgeVersion,
        memo: this.memo,
        pausedNodes,
        rowTexts: texts,
      });
      texts = undefined;
      return prepared;
    };
    const known = this.stateKnown;
    const unpaused = pausedNodes === undefined || pausedNodes.size === 0;
    const sameInputs =
      unpaused && known !== undefined && hubStateHead(known)?.digest === digest ? parseHubState(known) : undefined;
    if (sameInputs === undefined) prepare();
    return { digest, prepare, sameInputs, nodeCount: prepared?.inputs.length ?? sameInputs!.inputs.size };
  }

  private async plan(inputs: HubInputs, git: GitSide, settings: RunSettings): Promise<PlannedHub> {
    const { hub, deps, log } = this;
    this.repo = git.repo;
    const loadKnown = () => (this.known ??= deps.verifiedStore?.load(hub) ?? Promise.resolve(new Set<string>()));
    const formNames = new Set(this.forms.map((form) => form.name));
    const planned =
      inputs.sameInputs !== undefined && sameFolders(inputs.sameInputs.folders, git.folders)
        ? {
            ...unchangedHub(hub.name, stateInputs(inputs.sameInputs)),
            head: git.head,
            existing: new Map() as TreeListing,
            state: this.stateKnown,
          }
        : await planHub({
            hub,
            root: settings.root,
            formNames,
            prepared: inputs.prepare(),
            digest: inputs.digest,
            repo: git.repo,
            git,
            stateKnown: this.stateKnown,
            loadKnown,
            deps,
            defer: deferrable(this.forms),
          });
    log.info(
      { nodes: inputs.nodeCount, rendered: planned.plan.rendered, toldEarlier: planned.toldEarlier },
      'compared with git',
    );
    await rememberSeals(deps.verifiedStore, hub, planned, log);
    if (planned.state !== undefined && planned.state !== this.stateKnown)
      await rememberState(deps.verifiedStore, hub, (this.stateKnown = planned.state), log);
    return planned;
  }

  /** The push-routed changes as one commit on the target branch: its id (undefined for a dry run), or 'moved'. */
  private async publish(
    plan: Plan,
    routed: Routed,
    planned: PlannedHub,
    { settings, attempt }: { settings: RunSettings; attempt: number },
  ): Promise<string | undefined | 'moved'> {
    const { branch, author } = this.hub.spec.publish;
    const proposed = { count: routed.propose.length, branch: settings.branchForPullRequests };
    const all = plan.nodes.filter((node) => !routed.propose.includes(node));
    const message = commitMessage(this.hub.name, routed.push, all, { proposed });
    const result = await this.deps.publisher.publish({
      repo: this.repo!,
      hub: this.hub.name,
      changes: fileChanges(routed.push),
      head: planned.head,
      existing: planned.existing,
      branch,
      message,
      author,
    });
    if (result.outcome === 'moved') return 'moved';
    this.log.info({ commit: result.commit, attempt }, 'published');
    this.commit = result.commit;
    this.published = true;
    return result.commit;
  }

  /** The pull-request side: the bot branch and its pull request, on `head` (the target as this attempt left it). */
  private async propose(
    done: Extract<HubSyncResult, { outcome: 'published' | 'unchanged' }>,
    nodes: Plan['nodes'],
    at: { head: string | undefined; planned: PlannedHub; settings: RunSettings },
  ): Promise<HubSyncResult | 'moved'> {
    const { hub, deps, log } = this;
    let proposal: Awaited<ReturnType<typeof proposeChanges>>;
    try {
      proposal = await proposeChanges({
        hub: hub.name,
        repo: this.repo!,
        forge: await openForge(deps, hub),
        publisher: deps.publisher,
        logger: log,
        target: hub.spec.publish.branch,
        base: at.head,
        branch: at.settings.branchForPullRequests,
        nodes,
        existing: at.planned.existing,
        author: hub.spec.publish.author,
        time: (deps.clock ?? Date.now)() / 1000,
        settings: hub.spec.publish.pullRequest,
        waiting: waitingNotes(done.plan),
      });
    } catch (error) {
      if (!isLynqError(error) || error instanceof ConfigError) throw error;
      log.error({ err: messageOf(error) }, 'pull request failed');
      return this.handOff({ ...done, outcome: 'pull-request-failed', error: messageOf(error) });
    }
    if (proposal.outcome === 'moved') {
      log.warn(
        { attempt: done.attempts, branch: at.settings.branchForPullRequests },
        'pull-request branch moved during the sync; planning again',
      );
      return 'moved';
    }
    return this.handOff({ ...done, proposal });
  }

  private handOff<T extends Extract<HubSyncResult, { plan: Plan }>>(result: T): T {
    if (this.options.handOff !== true || this.repo === undefined) return result;
    return { ...result, handOff: { repo: this.repo, gateRead: this.gateHealth?.read } };
  }

  private failed(error: unknown): { hub: string; outcome: FailureOutcome; error: string } {
    const outcome = this.deps.signal?.aborted === true ? 'aborted' : failureOutcome(error, this.step);
    this.log.error({ err: messageOf(error), step: this.step }, 'sync failed; nothing published');
    return { hub: this.hub.name, outcome, error: messageOf(error) };
  }

  private async end(): Promise<void> {
    await this.pendingGit;
    await this.repo?.close();
  }
}

type Routed = { push: Plan['nodes']; propose: Plan['nodes'] };

function route(plan: Plan, routing: ResolvedRouting): Routed {
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
  throw error instanceof InternalError
    ? error
    : new InternalError(`sync of one hub failed in step ${step}: ${messageOf(error)}`, {}, { cause: error });
}

async function openForge(deps: SyncDeps, hub: Hub): Promise<PullRequestClient> {
  if (deps.openForge === undefined)
    throw new ConfigError('this hub routes changes to pull requests, but no forge is set up', {
      hub: hub.name,
      file: hub.file,
      field: 'spec.publish.platform',
    });
  return deps.openForge(hub);
}
