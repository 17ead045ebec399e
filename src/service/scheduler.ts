import { createTask } from 'node-cron';
import type { Form, Hub } from '../config/load.ts';
import { intervalSeconds, parseSyncInterval } from '../config/sync-interval.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import type { ServiceMetrics, Trigger } from './metrics.ts';
import { cronSchedule, periodTicker, type Ticker } from './schedule.ts';

/** What one run of a hub came to: a sync result, or nothing because another process holds the hub. */
export type RunResult = { ran: true; result: HubSyncResult } | { ran: false; holder: string };

export type SchedulerDeps = {
  logger: Logger;
  metrics: ServiceMetrics;
  /** One sync of one hub, lock included; `signal` is aborted when serve gives up waiting at shutdown. */
  runHub: (hub: Hub, forms: readonly Form[], signal: AbortSignal, trigger: Trigger) => Promise<RunResult>;
  /** Hubs with the same key share a cache clone (the same repository) and never sync at the same time. */
  repoKey: (hub: Hub) => string;
  /** How long a notification or webhook waits for a quiet moment before the sync starts. */
  debounceMs: number;
  /** The longest a trigger is held back by a stream that never goes quiet. */
  maxDebounceMs: number;
  clock?: () => number;
};

type HubState = {
  hub: Hub;
  forms: readonly Form[];
  /** Identity of the hub's settings and forms: a change reschedules it. */
  fingerprint: string;
  task: Ticker | undefined;
  running: Promise<void> | undefined;
  /** A trigger arrived while running: one more sync after this one (however many arrived). */
  again: boolean;
  debounce: NodeJS.Timeout | undefined;
  /** When the first trigger of the burst being debounced arrived. */
  firstTrigger: number | undefined;
  failingSince: number | undefined;
  lastOutcome: string | undefined;
  /** When the sync running now started (undefined when none runs). */
  runningSince: number | undefined;
};

/** `runningSince`: a sync that does not end is as bad as one that fails (readiness counts both). */
export type HubReadiness = {
  hub: string;
  failingSince: number | undefined;
  lastOutcome: string | undefined;
  runningSince: number | undefined;
};

/**
 * Runs each hub on its schedule and on demand, one sync of a hub at a time: a scheduled
 * tick that finds the hub still running is skipped and counted; a notification or webhook
 * during a run asks for one more run after it (a burst of any size is one or two syncs).
 * Hubs sharing a repository run one after another, so they never race on its cache clone.
 */
export class HubScheduler {
  private readonly states = new Map<string, HubState>();
  private readonly repoQueues = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private stopping = false;
  private readonly clock: () => number;

  constructor(private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Take a new config: hubs added are scheduled and run once now, changed ones rescheduled and run now, removed ones dropped. */
  update(
    hubs: ReadonlyMap<string, Hub>,
    forms: readonly Form[],
  ): { added: string[]; changed: string[]; removed: string[] } {
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [name, state] of this.states) {
      if (hubs.has(name)) continue;
      state.task?.destroy();
      if (state.debounce !== undefined) clearTimeout(state.debounce);
      this.states.delete(name);
      this.deps.metrics.forget(name);
      removed.push(name);
    }
    for (const [name, hub] of hubs) {
      const hubForms = forms.filter((form) => form.spec.hubId === name);
      const fingerprint = JSON.stringify([hub.file, hub.spec, hubForms.map((form) => [form.file, form.spec])]);
      this.deps.metrics.progressDeadlines(name, hubForms);
      const state = this.states.get(name);
      if (state?.fingerprint === fingerprint) continue;
      if (state !== undefined) {
        state.task?.destroy();
        Object.assign(state, { hub, forms: hubForms, fingerprint, task: this.schedule(hub) });
        changed.push(name);
        // What renders its nodes changed: sync now rather than at the next tick.
        this.request(name, 'config');
        continue;
      }
      this.states.set(name, {
        hub,
        forms: hubForms,
        fingerprint,
        task: this.schedule(hub),
        running: undefined,
        again: false,
        debounce: undefined,
        firstTrigger: undefined,
        failingSince: undefined,
        lastOutcome: undefined,
        runningSince: undefined,
      });
      added.push(name);
      this.request(name, 'config');
    }
    return { added, changed, removed };
  }

  /** Ask for a sync of a hub now; false for a hub the config does not have. */
  request(name: string, trigger: Trigger): boolean {
    const state = this.states.get(name);
    if (state === undefined || this.stopping) return state !== undefined;
    this.deps.metrics.triggered(name, trigger);
    if (trigger === 'schedule') {
      if (state.running !== undefined || state.debounce !== undefined) {
        this.deps.metrics.skippedTick(name);
        this.deps.logger.info({ hub: name }, 'scheduled tick skipped: the previous sync is still running');
        return true;
      }
      this.start(state, trigger);
      return true;
    }
    if (trigger === 'config') {
      if (state.running === undefined) this.start(state, trigger);
      else state.again = true;
      return true;
    }
    if (state.running !== undefined) {
      state.again = true;
      return true;
    }
    this.debounce(state, trigger);
    return true;
  }

  /**
   * Start after a quiet period: every trigger pushes the start back by `debounceMs`, but
   * never past `maxDebounceMs` after the first one, so a steady stream still syncs. A
   * burst (a batch job inserting row by row) thus becomes one sync after it, and one more
   * if it outlasts the cap.
   */
  private debounce(state: HubState, trigger: Trigger): void {
    const now = this.clock();
    state.firstTrigger ??= now;
    if (state.debounce !== undefined) clearTimeout(state.debounce);
    const wait = Math.max(0, Math.min(this.deps.debounceMs, state.firstTrigger + this.deps.maxDebounceMs - now));
    state.debounce = setTimeout(() => {
      state.debounce = undefined;
      state.firstTrigger = undefined;
      if (!this.stopping && state.running === undefined) this.start(state, trigger);
    }, wait);
  }

  readiness(): HubReadiness[] {
    return [...this.states.values()].map((state) => ({
      hub: state.hub.name,
      failingSince: state.failingSince,
      lastOutcome: state.lastOutcome,
      runningSince: state.runningSince,
    }));
  }

  has(name: string): boolean {
    return this.states.has(name);
  }

  /**
   * Stop taking ticks and triggers; let running syncs finish for `graceMs`, then abort
   * them and wait up to `abortWaitMs` more for them to unwind. Resolves true when every
   * sync ended.
   */
  async stop(graceMs: number, abortWaitMs: number): Promise<boolean> {
    this.stopping = true;
    for (const state of this.states.values()) {
      state.task?.destroy();
      state.task = undefined;
      if (state.debounce !== undefined) clearTimeout(state.debounce);
      state.debounce = undefined;
      state.again = false;
    }
    const running = Promise.allSettled(
      [...this.states.values()].map((state) => state.running).filter((run) => run !== undefined),
    );
    if (await settlesWithin(running, graceMs)) return true;
    this.deps.logger.warn({ graceMs }, 'syncs still running after the grace period; aborting them');
    this.abort.abort(new Error('lynq serve is shutting down'));
    return settlesWithin(running, abortWaitMs);
  }

  private schedule(hub: Hub): Ticker | undefined {
    const interval = parseSyncInterval(hub.spec.source.syncInterval);
    // The hub schema already refused a bad interval; this only guards hand-built hubs.
    if ('error' in interval) {
      this.deps.logger.error({ hub: hub.name, err: interval.error }, 'hub not scheduled: bad syncInterval');
      return undefined;
    }
    this.deps.metrics.syncInterval(hub.name, intervalSeconds(interval));
    if (interval.kind === 'period') {
      this.deps.logger.info({ hub: hub.name, everySeconds: interval.seconds }, 'hub scheduled');
      return periodTicker(hub.name, interval.seconds, () => void this.request(hub.name, 'schedule'));
    }
    const expression = cronSchedule(hub.name, interval);
    this.deps.logger.info({ hub: hub.name, schedule: expression }, 'hub scheduled');
    // Cron times are UTC, whatever the container's zone. node-cron's own overlap and jitter options are not used: skipping is counted here, and jitter is in the expression.
    const task = createTask(expression, () => void this.request(hub.name, 'schedule'), {
      name: `lynq-${hub.name}`,
      timezone: 'Etc/UTC',
    });
    void task.start();
    return task;
  }

  private start(state: HubState, trigger: Trigger): void {
    state.running = this.serialised(this.deps.repoKey(state.hub), () => this.runOnce(state, trigger)).finally(() => {
      state.running = undefined;
      // Triggers that came during the run get one more, after its own quiet period.
      if (state.again && !this.stopping && this.states.get(state.hub.name) === state) {
        state.again = false;
        this.debounce(state, 'notify');
      }
    });
  }

  private async runOnce(state: HubState, trigger: Trigger): Promise<void> {
    const { hub, forms } = state;
    const started = this.clock();
    let outcome: RunResult;
    state.runningSince = started;
    try {
      outcome = await this.deps.runHub(hub, forms, this.abort.signal, trigger);
    } catch (error) {
      // runHub turns every expected failure into a result; this is a bug, and must not stop the other hubs.
      this.deps.logger.error({ hub: hub.name, err: messageOf(error) }, 'sync crashed');
      this.deps.metrics.failed(hub.name, 'internal');
      state.failingSince ??= started;
      state.lastOutcome = 'crashed';
      return;
    } finally {
      state.runningSince = undefined;
    }
    if (!outcome.ran) {
      this.deps.metrics.lockHeld(hub.name);
      this.deps.logger.info(
        { hub: hub.name, holder: outcome.holder },
        'hub skipped: another process holds its sync lock',
      );
      return;
    }
    const { result } = outcome;
    const now = this.clock();
    this.deps.metrics.synced(result, (now - started) / 1000, now);
    state.lastOutcome = result.outcome;
    // An aborted sync (shutdown) says nothing about the hub's health.
    if (result.outcome === 'aborted') return;
    const failed = result.outcome !== 'published' && result.outcome !== 'unchanged';
    state.failingSince = failed ? (state.failingSince ?? started) : undefined;
  }

  private async serialised(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.repoQueues.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.repoQueues.set(key, mine);
    await previous;
    try {
      await work();
    } finally {
      release();
      // Keep the map bounded by the hubs running now, not by every run there ever was.
      if (this.repoQueues.get(key) === mine) this.repoQueues.delete(key);
    }
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
