import path from 'node:path';
import { loadConfig, type Config, type Hub } from '../config/load.ts';
import { urlCredentialProblem } from '../config/repo-url.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import { createHubLocker, type HubLocker, type LockedRun, lockFailure, withHubLock } from '../service/lock.ts';
import { phaseLabel } from '../sync/phases.ts';
import { createDeployReporter } from '../health/deploy-report.ts';
import { readBackAfterSync, type SyncReadBackOptions } from '../sync/read-back.ts';
import { type SyncDeps, syncHub, type HubSyncResult } from '../sync/sync-hub.ts';
import { healthSummary } from './health-report.ts';
import type { CommandContext } from './io.ts';
import { exitCodeOf, summaryTable } from './report.ts';
import { exportRunMetrics, type RunRecord, runMetricsTarget } from './run-metrics.ts';
import { lazyKubeClient } from './kube-wiring.ts';
import { pausedLynqNodesFrom } from './pause-wiring.ts';
import { rolloutHealthFrom } from './rollout-wiring.ts';
import { statusTableWriter } from './status-wiring.ts';
import { createSyncDeps } from './wiring.ts';

export type SyncCommandOptions = {
  hubs: string;
  forms: string;
  hub?: string;
  repo?: string;
  dryRun: boolean;
  diff: boolean;
  allowDeletions: boolean;
  kubeconfig?: string;
  context?: string;
  /** Wait up to this many seconds for a hub held by another process; without it, skip that hub. */
  waitLock?: number;
  /** Write the run's series for node_exporter's textfile collector (else LYNQ_METRICS_FILE). */
  metricsFile?: string;
  /** Not a flag: hub and form files a caller has loaded and checked already, with the same options (`lynq demo`). */
  config?: Config;
};

export async function runSync(options: SyncCommandOptions, context: CommandContext): Promise<number> {
  const { io } = context;
  const config =
    options.config ??
    (await loadConfig({ hubsDir: options.hubs, formsDir: options.forms, publishing: { repoOverride: options.repo } }));
  const hubs = selectHubs(config, options.hub);
  checkSyncInputs(options, config);
  const deps = syncCommandDeps(options, context);
  const { ran, results, runs } = await syncHubs(hubs, config, deps, options, context);
  // Health read-back: after publishing, never instead of it; its failures never change the exit code.
  const health = options.dryRun ? [] : await readBackAfterSync(ran, results, readBackOptions(options, context, deps));
  if (io.isTty) io.err.write('\r\x1b[2K');
  // Every hub skipped (its lock held elsewhere): the skip lines said it all; a table of no rows says nothing.
  if (results.length > 0) io.out.write(summaryTable(results, { dryRun: options.dryRun, listNodes: options.dryRun }));
  if (health.length > 0) io.out.write(healthSummary(health));
  const metricsTarget = options.dryRun ? undefined : runMetricsTarget(options, io.env);
  if (metricsTarget !== undefined)
    await exportRunMetrics(metricsTarget, runs, health, { logger: context.logger, clock: Date.now });
  return exitCodeOf(results);
}

/** What is refused before any database is read: a credential in --repo (exit 2, never printed), and no forms at all. */
function checkSyncInputs(options: SyncCommandOptions, config: Config): void {
  const problem = options.repo === undefined ? undefined : urlCredentialProblem(options.repo);
  if (problem !== undefined) throw new ConfigError(`--repo ${problem}`);
  if (config.forms.length === 0) {
    // Every node would be removed: far more likely a wrong --forms than an intent, so nothing is read or written.
    throw new ConfigError(
      `no form files (*.yaml or *.yml) in ${path.resolve(options.forms)}: nothing to render; pass --forms DIR if they are elsewhere`,
    );
  }
}

function syncCommandDeps(options: SyncCommandOptions, context: CommandContext): SyncDeps {
  const { io } = context;
  const kube = lazyKubeClient({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: io.env,
    useHomeConfig: false,
    logger: context.logger,
    registry: context.secrets,
  });
  return {
    ...createSyncDeps({
      logger: context.logger,
      secrets: context.secrets,
      repoOverride: options.repo,
      dryRun: options.dryRun,
      diff: options.diff,
      out: io.out,
      env: io.env,
      onPhase: io.isTty
        ? (hub, phase, detail) => io.err.write(`\r\x1b[2K${hub}: ${phaseLabel(phase, detail)}…`)
        : undefined,
    }),
    // The rollout gate reads health where a cluster is configured (as the read-back after the sync does); the
    // read-back judges the gate's read again at the sync's commit instead of reading the whole cluster twice.
    rolloutHealth: rolloutHealthFrom(kube, {
      logger: context.logger,
      clock: Date.now,
      memo: fileNodeMemo(defaultCacheDir(io.env)),
      listLynqNodes: !options.dryRun,
    }),
    // Hubs with spec.gitops.pauseFromLynqNode read their LynqNodes' pause annotations from the same cluster before planning (a dry run too: it only reads).
    pausedLynqNodes: pausedLynqNodesFrom(kube),
  };
}

/** Each hub in turn, under its lock (none for a dry run): the hubs that ran and their results, index by index (a hub skipped for its lock has neither). */
async function syncHubs(
  hubs: readonly Hub[],
  config: Config,
  deps: SyncDeps,
  options: SyncCommandOptions,
  context: CommandContext,
): Promise<{ ran: Hub[]; results: HubSyncResult[]; runs: RunRecord[] }> {
  const { io } = context;
  // A dry run writes nothing, so it neither takes nor waits for the lock.
  const lock = options.dryRun
    ? undefined
    : createHubLocker({
        secretEnv: defaultSecretEnv(context.secrets, io.env),
        logger: context.logger,
        cacheDir: defaultCacheDir(io.env),
      });
  const ran: Hub[] = [];
  const results: HubSyncResult[] = [];
  const runs: RunRecord[] = [];
  for (const hub of hubs) {
    const started = Date.now();
    const forms = config.forms.filter((form) => form.spec.hubId === hub.name);
    const run = (signal?: AbortSignal) =>
      syncHub(hub, forms, signal === undefined ? deps : { ...deps, signal }, {
        allowDeletions: options.allowDeletions,
        handOff: !options.dryRun,
      });
    const result = lock === undefined ? await run() : await lockedRun(lock, hub, run, options, context);
    if (result === undefined) continue;
    ran.push(hub);
    results.push(result);
    runs.push({ result, seconds: (Date.now() - started) / 1000, finishedAt: Date.now(), forms });
  }
  return { ran, results, runs };
}

/** The hub's run under its lock; undefined when another holder had it (said, and not a failure: the holder is doing this very work). */
async function lockedRun(
  lock: HubLocker,
  hub: Hub,
  run: (signal?: AbortSignal) => Promise<HubSyncResult>,
  options: SyncCommandOptions,
  context: CommandContext,
): Promise<HubSyncResult | undefined> {
  let result: LockedRun<HubSyncResult>;
  try {
    result = await withHubLock(lock, hub, { waitMs: (options.waitLock ?? 0) * 1000 }, run);
  } catch (error) {
    return lockFailure(hub, error, context.logger);
  }
  if (result.ran) return result.value;
  context.io.out.write(`hub ${hub.name}: skipped, sync lock held by ${result.holder}\n`);
  return undefined;
}

function readBackOptions(options: SyncCommandOptions, context: CommandContext, deps: SyncDeps): SyncReadBackOptions {
  const { io } = context;
  return {
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: io.env,
    logger: context.logger,
    registry: context.secrets,
    openRepo: deps.openRepo,
    statusTable: statusTableWriter(io.env, context.logger, context.secrets),
    clock: Date.now,
    memo: fileNodeMemo(defaultCacheDir(io.env)),
    reportDeploys: deps.openForge === undefined ? undefined : createDeployReporter(deps.openForge, context.logger),
  };
}

export function selectHubs(config: Config, name: string | undefined): Hub[] {
  if (name === undefined) return [...config.hubs.values()];
  const hub = config.hubs.get(name);
  if (hub === undefined)
    throw new ConfigError(
      `no hub named ${JSON.stringify(name)} (hubs: ${[...config.hubs.keys()].join(', ') || 'none'})`,
    );
  return [hub];
}
