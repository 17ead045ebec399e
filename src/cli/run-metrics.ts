import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Form } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import type { HubReadBack } from '../health/run.ts';
import type { Logger } from '../logger.ts';
import { ServiceMetrics } from '../service/metrics.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';

/** Where a `lynq sync` run (a CronJob tick) leaves its series: a node_exporter textfile, a Pushgateway, both or neither. */
export type RunMetricsTarget = { file?: string; pushgateway?: string; group: string };

export function runMetricsTarget(
  options: { metricsFile?: string; hub?: string },
  env: NodeJS.ProcessEnv,
): RunMetricsTarget | undefined {
  const file = options.metricsFile ?? (env.LYNQ_METRICS_FILE || undefined);
  const pushgateway = env.LYNQ_PUSHGATEWAY_URL || undefined;
  if (file === undefined && pushgateway === undefined) return undefined;
  return { file, pushgateway, group: options.hub ?? 'all' };
}

/** `forms`: the hub's forms, for the progress deadline its nodes are watched by. */
export type RunRecord = { result: HubSyncResult; seconds: number; finishedAt: number; forms: readonly Form[] };

/**
 * The run's series, the same names and labels as `lynq serve`'s /metrics (without the
 * process ones): its syncs, their outcomes and durations, and the read-back's node health.
 * A failure to write or push is logged and leaves the exit code alone: metrics never fail a sync.
 */
export async function exportRunMetrics(
  target: RunMetricsTarget,
  runs: readonly RunRecord[],
  health: readonly HubReadBack[],
  deps: { logger: Logger; clock: () => number; timeoutMs?: number },
): Promise<void> {
  const metrics = new ServiceMetrics({ processMetrics: false });
  for (const run of runs) {
    metrics.synced(run.result, run.seconds, run.finishedAt);
    metrics.progressDeadlines(run.result.hub, run.forms);
  }
  const now = deps.clock();
  for (const read of health) metrics.readBack(read, undefined, now);
  if (target.file !== undefined) {
    // Written aside and renamed: node_exporter never reads half a file.
    const temporary = path.join(path.dirname(target.file), `.${path.basename(target.file)}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, await metrics.text());
      await rename(temporary, target.file);
    } catch (error) {
      deps.logger.error({ file: target.file, err: messageOf(error) }, 'metrics file not written');
    }
  }
  if (target.pushgateway !== undefined) {
    const { Pushgateway } = await import('prom-client');
    const gateway = new Pushgateway(
      target.pushgateway,
      { timeout: deps.timeoutMs ?? 10_000, headers: { 'Content-Type': metrics.contentType } },
      metrics.registry,
    );
    try {
      // PUT: this run's series replace the last run's of the same group, as a CronJob's should.
      await gateway.push({ jobName: 'lynq-sync', groupings: { hubs: target.group } });
    } catch (error) {
      deps.logger.error({ pushgateway: target.pushgateway, err: messageOf(error) }, 'metrics not pushed');
    }
  }
}
