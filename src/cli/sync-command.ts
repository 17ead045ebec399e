import path from 'node:path';
import { loadConfig, type Config, type Hub } from '../config/load.ts';
import { urlCredentialProblem } from '../config/repo-url.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import { createHubLocker, type LockedRun, lockFailure, withHubLock } from '../service/lock.ts';
import { phaseLabel } from '../sync/phases.ts';
import { createDeployReporter } from '../health/deploy-report.ts';
import { readBackAfterSync } from '../sync/read-back.ts';
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
  const config = options.config ?? (await loadConfig({ hubsDir: options.hubs, formsDir: options.forms, publishing: { repoOverride: options.repo } }));
  const hubs = selectHubs(config, options.hub);
  // Before any database is read: a credential in --repo is a usage error (exit 2), never printed.
  const problem = options.repo === undefined ? undefined : urlCredentialProblem(options.repo);
  if (problem !== undefined) throw new ConfigError(`--repo ${problem}`);
  if (config.forms.length === 0) {
    // Every node would be removed: far more likely a wrong --forms than an intent, so nothing is read or written.
    throw new ConfigError(`no form files (*.yaml or *.yml) in ${path.resolve(options.forms)}: nothing to render; pass --forms DIR if they are elsewhere`);
  }
  const clock = Date.now;
  const kube = lazyKubeClient({ kubeconfig: options.kubeconfig, context: options.context, env: io.env, useHomeConfig: false, logger: context.logger, registry: context.secrets });
  const deps: SyncDeps = {
    ...createSyncDeps({
      logger: context.logger,
      secrets: context.secrets,
      repoOverride: options.repo,
      dryRun: options.dryRun,
      diff: options.diff,
      out: io.out,
      env: io.env,
      onPhase: io.isTty ? (hub, phase, detail) => io.err.write(`\r\x1b[2K${hub}: ${phaseLabel(phase, detail)}…`) : undefined,
    }),
    // The rollout gate reads health where a cluster is configured (as the read-back after the sync does); the
    // read-back judges the gate's read again at the sync's commit instead of reading the whole cluster twice.
    rolloutHealth: rolloutHealthFrom(kube, { logger: context.logger, clock, memo: fileNodeMemo(defaultCacheDir(io.env)), listLynqNodes: !options.dryRun }),
    // Hubs with spec.gitops.pauseFromLynqNode read their LynqNodes' pause annotations from the same cluster before planning (a dry run too: it only reads).
    pausedLynqNodes: pausedLynqNodesFrom(kube),
  };
  // A dry run writes nothing, so it neither takes nor waits for the lock.
  const lock = options.dryRun ? undefined : createHubLocker({ secretEnv: defaultSecretEnv(context.secrets, io.env), logger: context.logger, cacheDir: defaultCacheDir(io.env) });
  // The hubs that ran and their results, index by index (a hub skipped for its lock has neither).
  const ran: Hub[] = [];
  const results: HubSyncResult[] = [];
  const runs: RunRecord[] = [];
  const formsOf = (hub: Hub) => config.forms.filter((form) => form.spec.hubId === hub.name);
  const syncOne = async (hub: Hub): Promise<HubSyncResult | undefined> => {
    const forms = formsOf(hub);
    const run = (signal?: AbortSignal) => syncHub(hub, forms, signal === undefined ? deps : { ...deps, signal }, { allowDeletions: options.allowDeletions, handOff: !options.dryRun });
    if (lock === undefined) return run();
    let result: LockedRun<HubSyncResult>;
    try {
      result = await withHubLock(lock, hub, { waitMs: (options.waitLock ?? 0) * 1000 }, run);
    } catch (error) {
      return lockFailure(hub, error, context.logger);
    }
    if (result.ran) return result.value;
    // Skipping is not a failure: the holder is doing this very work (exit 0 when nothing else failed).
    io.out.write(`hub ${hub.name}: skipped, sync lock held by ${result.holder}\n`);
    return undefined;
  };
  for (const hub of hubs) {
    const started = clock();
    const result = await syncOne(hub);
    if (result === undefined) continue;
    ran.push(hub);
    results.push(result);
    runs.push({ result, seconds: (clock() - started) / 1000, finishedAt: clock(), forms: formsOf(hub) });
  }
  // Health read-back: after publishing, never instead of it; its failures never change the exit code.
  const health = options.dryRun
    ? []
    : await readBackAfterSync(ran, results, {
        kubeconfig: options.kubeconfig,
        context: options.context,
        env: io.env,
        logger: context.logger,
        registry: context.secrets,
        openRepo: deps.openRepo,
        statusTable: statusTableWriter(io.env, context.logger, context.secrets),
        clock,
        memo: fileNodeMemo(defaultCacheDir(io.env)),
        reportDeploys: deps.openForge === undefined ? undefined : createDeployReporter(deps.openForge, context.logger),
      });
  if (io.isTty) io.err.write('\r\x1b[2K');
  // Every hub skipped (its lock held elsewhere): the skip lines said it all; a table of no rows says nothing.
  if (results.length > 0) io.out.write(summaryTable(results, { dryRun: options.dryRun, listNodes: options.dryRun }));
  if (health.length > 0) io.out.write(healthSummary(health));
  const metricsTarget = options.dryRun ? undefined : runMetricsTarget(options, io.env);
  if (metricsTarget !== undefined) await exportRunMetrics(metricsTarget, runs, health, { logger: context.logger, clock });
  return exitCodeOf(results);
}

export function selectHubs(config: Config, name: string | undefined): Hub[] {
  if (name === undefined) return [...config.hubs.values()];
  const hub = config.hubs.get(name);
  if (hub === undefined) throw new ConfigError(`no hub named ${JSON.stringify(name)} (hubs: ${[...config.hubs.keys()].join(', ') || 'none'})`);
  return [hub];
}
