import type { Hub } from '../config/load.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { SecretRegistry, type Logger } from '../logger.ts';
import { readHubRows } from '../sources/factory.ts';
import type { PullRequestClient } from '../forge/types.ts';
import { DryRunPublisher, PushPublisher } from '../sync/publisher.ts';
import type { SyncDeps } from '../sync/sync-hub.ts';
import { fileVerifiedStore } from '../sync/verified-store.ts';
import { BRIDGE_VERSION } from '../version.ts';
import { createForges } from './forge-wiring.ts';
import { openHubRepo, repoUrlOf } from './repo-wiring.ts';

export type WiringOptions = {
  logger: Logger;
  /** Where credentials read for this run are registered, so the logger scrubs them (a fresh one when not given). */
  secrets?: SecretRegistry;
  repoOverride?: string;
  dryRun: boolean;
  diff: boolean;
  out: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
  /** How the GitHub client waits between retries (tests pass one that records and returns at once). */
  sleep?: (ms: number) => Promise<void>;
  onPhase?: SyncDeps['onPhase'];
  /** Stops the run: between steps, the database query, every git command and GitHub request (a service shutting down). */
  signal?: AbortSignal;
};

/**
 * The composition root: real databases, a cached git clone, a real or dry-run publisher,
 * and GitHub (or, for a dry run, a forge that only says what it would do).
 */
export function createSyncDeps(options: WiringOptions): SyncDeps {
  const env = options.env ?? process.env;
  const secretEnv = defaultSecretEnv(options.secrets ?? new SecretRegistry(), env);
  const clock = options.clock ?? Date.now;
  const forges = createForges({
    logger: options.logger,
    secretEnv,
    dryRun: options.dryRun,
    out: options.out,
    sleep: options.sleep,
    now: clock,
    signal: options.signal,
  });
  const openForge = (hub: Hub): Promise<PullRequestClient> =>
    forges.openForge(hub, repoUrlOf(hub, options.repoOverride));
  return {
    logger: options.logger,
    readRows: (hub, signal) => readHubRows(hub, { secretEnv, logger: options.logger }, signal ?? options.signal),
    openRepo: (hub) =>
      openHubRepo(hub, {
        ...options,
        secretEnv,
        cacheDir: options.dryRun ? undefined : defaultCacheDir(env),
        credentials: forges.credentials,
      }),
    publisher: options.dryRun ? new DryRunPublisher(options.out, options.diff) : new PushPublisher(clock),
    openForge,
    verifiedStore: options.dryRun ? undefined : fileVerifiedStore(defaultCacheDir(env)),
    storeAhead: !options.dryRun,
    clock,
    bridgeVersion: BRIDGE_VERSION,
    onPhase: options.onPhase,
    signal: options.signal,
  };
}
