import type { Hub } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import type { HubReadBack } from '../health/run.ts';
import type { Logger } from '../logger.ts';
import type { ServiceReadBack } from '../sync/read-back.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import type { ServiceMetrics } from './metrics.ts';

export type ReadBackLoopDeps = {
  logger: Logger;
  metrics: ServiceMetrics;
  readBack: ServiceReadBack;
  /** How often each hub with an engine is read back between its syncs. */
  intervalMs: number;
  clock?: () => number;
  /** Told every read-back's result (the web view keeps the last of each hub). */
  onResult?: (result: HubReadBack) => void;
};

type HubLoop = {
  hub: Hub;
  timer: NodeJS.Timeout;
  running: Promise<void> | undefined;
  failingSince: number | undefined;
  lastOutcome: string | undefined;
};

export type ReadBackReadiness = { hub: string; failingSince: number | undefined; lastOutcome: string | undefined };

/**
 * `lynq serve`'s read-back: after every sync of a hub with an engine (its last step, as in
 * `lynq sync`), and on its own interval, so a node that turns Ready between syncs is seen
 * without waiting for a row to change. One read-back of a hub at a time (an interval tick
 * that finds one running is dropped); a failure is logged and counted, never blocks a sync.
 */
export class ReadBackLoop {
  private readonly hubs = new Map<string, HubLoop>();
  private readonly clock: () => number;
  private stopped = false;

  constructor(private readonly deps: ReadBackLoopDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Take the current hubs: those read back keep (or get) a timer, the rest lose it. */
  update(hubs: ReadonlyMap<string, Hub>): void {
    for (const [name, loop] of this.hubs) {
      const hub = hubs.get(name);
      if (hub !== undefined && this.deps.readBack.wants(hub)) {
        loop.hub = hub;
        continue;
      }
      clearInterval(loop.timer);
      this.hubs.delete(name);
    }
    for (const [name, hub] of hubs) {
      if (this.hubs.has(name) || !this.deps.readBack.wants(hub) || this.stopped) continue;
      const timer = setInterval(() => void this.tick(name), this.deps.intervalMs);
      timer.unref();
      this.hubs.set(name, { hub, timer, running: undefined, failingSince: undefined, lastOutcome: undefined });
    }
  }

  /** A sync of the hub ended: read it back now, with what the sync did. Resolves when the read-back ended. */
  async afterSync(hub: Hub, result: HubSyncResult): Promise<void> {
    const loop = this.hubs.get(hub.name);
    if (loop === undefined || !('plan' in result) || this.stopped) return;
    await loop.running;
    await this.run(loop, result);
  }

  private async tick(name: string): Promise<void> {
    const loop = this.hubs.get(name);
    if (loop === undefined || loop.running !== undefined || this.stopped) return;
    await this.run(loop, undefined);
  }

  private run(loop: HubLoop, after: HubSyncResult | undefined): Promise<void> {
    const running = this.readOnce(loop, after).finally(() => {
      if (loop.running === running) loop.running = undefined;
    });
    loop.running = running;
    return running;
  }

  private async readOnce(loop: HubLoop, after: HubSyncResult | undefined): Promise<void> {
    const { hub } = loop;
    const started = this.clock();
    let result: HubReadBack;
    try {
      result = await this.deps.readBack.run(hub, after);
    } catch (error) {
      // readBackHub turns every expected failure into an outcome: this is a bug, and must not stop the service.
      result = { hub: hub.name, outcome: 'failed', error: messageOf(error) };
    }
    const now = this.clock();
    this.deps.metrics.readBack(result, (now - started) / 1000, now);
    this.deps.onResult?.(result);
    loop.lastOutcome = result.outcome;
    if (result.outcome === 'read') {
      loop.failingSince = undefined;
      const phases = new Map<string, number>();
      for (const node of result.nodes) phases.set(node.phase, (phases.get(node.phase) ?? 0) + 1);
      this.deps.logger.info(
        {
          hub: hub.name,
          after: after === undefined ? 'interval' : 'sync',
          nodes: result.nodes.length,
          ...Object.fromEntries(phases),
          ms: now - started,
        },
        'read back',
      );
      return;
    }
    loop.failingSince ??= started;
    this.deps.logger.error(
      { hub: hub.name, outcome: result.outcome, err: result.error },
      'health read-back failed; publishing goes on',
    );
  }

  readiness(): ReadBackReadiness[] {
    return [...this.hubs.values()].map((loop) => ({
      hub: loop.hub.name,
      failingSince: loop.failingSince,
      lastOutcome: loop.lastOutcome,
    }));
  }

  /** No more read-backs; resolves when the running ones ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const loop of this.hubs.values()) clearInterval(loop.timer);
    await Promise.allSettled([...this.hubs.values()].map((loop) => loop.running));
  }
}
