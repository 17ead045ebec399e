import type { Hub } from '../config/load.ts';
import type { PullRequestClient } from '../forge/types.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { ClusterRead, NodeHealth } from '../health/read-back.ts';
import type { RolloutHealth } from '../health/types.ts';
import type { Logger } from '../logger.ts';
import type { Plan } from '../plan/types.ts';
import type { HubRow } from '../sources/rows.ts';
import type { PausedLynqNodeReader } from './pauses.ts';
import type { SyncPhase } from './phases.ts';
import type { Proposal } from './propose.ts';
import type { Publisher } from './publisher.ts';
import type { VerifiedStore } from './verified-store.ts';

/** What a hub's sync needs and says (sync-hub.ts runs it), apart from the run so its steps share them without a circle. */

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
  rolloutHealth?: (
    hub: Hub,
    repo: ManifestsRepo,
    head: string | undefined,
    signal?: AbortSignal,
  ) => Promise<GateHealth | undefined>;
  /** Read the rollout health even when nothing waits (`lynq rollout status`). */
  rolloutStatus?: boolean;
  /**
   * The hub's LynqNodes that carry the pause annotation, for a hub with
   * `spec.gitops.pauseFromLynqNode` (asked of no other hub); absent: no cluster is
   * configured, and such a hub fails.
   */
  pausedLynqNodes?: PausedLynqNodeReader;
};

/** What the rollout gate read of the cluster: each node's health as the gate sees it, as the read-back judged it, and the read itself. */
export type GateHealth = { health: RolloutHealth; nodes: readonly NodeHealth[]; read: ClusterRead };

/**
 * `handOff`: the result keeps the run's repository (closed: its clone is still there to
 * read) and the gate's cluster read, for the read-back after the sync (`lynq sync`), which
 * then neither opens and checks the clone again nor reads the cluster twice.
 */
export type SyncOptions = { allowDeletions: boolean; handOff?: boolean };

/** What a run hands to the read-back after it (SyncOptions.handOff). */
export type RunHandOff = { repo: ManifestsRepo; gateRead: ClusterRead | undefined };

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
  | {
      hub: string;
      outcome: 'published' | 'unchanged';
      plan: Plan;
      commit: string | undefined;
      attempts: number;
      proposal?: Proposal;
      handOff?: RunHandOff;
    }
  | {
      hub: string;
      outcome: 'pull-request-failed';
      plan: Plan;
      commit: string | undefined;
      attempts: number;
      error: string;
      handOff?: RunHandOff;
    }
  | { hub: string; outcome: FailureOutcome; error: string };
