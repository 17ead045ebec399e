import path from 'node:path';
import { loadConfig, type Config, type Hub } from '../config/load.ts';
import { urlCredentialProblem } from '../config/repo-url.ts';
import { ConfigError } from '../errors.ts';
import { phaseLabel } from '../sync/phases.ts';
import { syncHub, type HubSyncResult } from '../sync/sync-hub.ts';
import type { CommandContext } from './io.ts';
import { exitCodeOf, summaryTable } from './report.ts';

import { createSyncDeps } from './wiring.ts';
import { defaultCacheDir } from '../git/manifests-repo.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import { readBackAfterSync } from '../sync/read-back.ts';
import { healthSummary } from './health-report.ts';
import { statusTableWriter } from './status-wiring.ts';

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
};

export async function runSync(options: SyncCommandOptions, context: CommandContext): Promise<number> {
  const { io } = context;
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms, publishing: { repoOverride: options.repo } });
  const hubs = selectHubs(config, options.hub);
  // Before any database is read: a credential in --repo is a usage error (exit 2), never printed.
  const problem = options.repo === undefined ? undefined : urlCredentialProblem(options.repo);
  if (problem !== undefined) throw new ConfigError(`--repo ${problem}`);
  if (config.forms.length === 0) {
    // Every node would be removed: far more likely a wrong --forms than an intent, so nothing is read or written.
    throw new ConfigError(`no form files (*.yaml) in ${path.resolve(options.forms)}: nothing to render; pass --forms DIR if they are elsewhere`);
  }
  const deps = createSyncDeps({
    logger: context.logger,
    secrets: context.secrets,
    repoOverride: options.repo,
    dryRun: options.dryRun,
    diff: options.diff,
    out: io.out,
    env: io.env,
    onPhase: io.isTty ? (hub, phase, detail) => io.err.write(`\r\x1b[2K${hub}: ${phaseLabel(phase, detail)}…`) : undefined,
  });
  const results: HubSyncResult[] = [];
  for (const hub of hubs) {
    const forms = config.forms.filter((form) => form.spec.hubId === hub.name);
    results.push(await syncHub(hub, forms, deps, { allowDeletions: options.allowDeletions }));
  }
  // Health read-back: after publishing, never instead of it; its failures never change the exit code.
  const health = options.dryRun ? [] : await readBackAfterSync(hubs, results, { kubeconfig: options.kubeconfig, context: options.context, env: io.env, logger: context.logger, registry: context.secrets, openRepo: deps.openRepo, statusTable: statusTableWriter(io.env, context.logger, context.secrets), clock: deps.clock ?? Date.now, memo: fileNodeMemo(defaultCacheDir(io.env)) });
  if (io.isTty) io.err.write('\r\x1b[2K');
  io.out.write(summaryTable(results, { dryRun: options.dryRun, listNodes: options.dryRun }));
  if (health.length > 0) io.out.write(healthSummary(health));
  return exitCodeOf(results);
}

export function selectHubs(config: Config, name: string | undefined): Hub[] {
  if (name === undefined) return [...config.hubs.values()];
  const hub = config.hubs.get(name);
  if (hub === undefined) throw new ConfigError(`no hub named ${JSON.stringify(name)} (hubs: ${[...config.hubs.keys()].join(', ') || 'none'})`);
  return [hub];
}
