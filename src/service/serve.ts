import { watch, type FSWatcher } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Form, Hub } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SourceDeps } from '../sources/types.ts';
import type { ServiceReadBack } from '../sync/read-back.ts';
import { type HubSyncResult, syncHub, type SyncDeps } from '../sync/sync-hub.ts';
import { ConfigStore, type ConfigProblem } from './config-store.ts';
import { closeServer, createHttpServer, listen, type Readiness } from './http.ts';
import { type HubLocker, type LockedRun, lockFailure, withHubLock } from './lock.ts';
import { ServiceMetrics, type Trigger } from './metrics.ts';
import { listenForHub, type Listener } from './notify.ts';
import { ReadBackLoop } from './read-back-loop.ts';
import { HubScheduler, type RunResult } from './scheduler.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import type { StatusFact } from '../health/status-memo.ts';
import { TokenCheck } from '../web/auth.ts';
import { FleetState } from '../web/fleet-state.ts';
import { GitView } from '../web/git-view.ts';
import { createWebView } from '../web/handler.ts';

export type ServeOptions = {
  hubsDir: string;
  formsDir: string;
  /** Only this hub. */
  hub?: string;
  listen: { host: string; port: number };
  /** How long a running sync may go on after SIGTERM before it is aborted. */
  graceMs: number;
  /** After aborting, how long to wait for syncs to unwind before exiting anyway. */
  abortWaitMs: number;
  /** /readyz fails once a hub's syncs have been failing for longer than this. */
  readyFailureMs: number;
  /** A burst of notifications or webhook calls is one sync once quiet this long... */
  debounceMs: number;
  /** ...or once this long passed since its first one. */
  maxDebounceMs: number;
  /** Reload when files in the hubs or forms folder change (SIGHUP always reloads). */
  watchFiles: boolean;
  /** How often a hub with an engine is read back between its syncs (with `readBack`). */
  readBackIntervalMs: number;
  /** At shutdown, how long HTTP requests in flight may go on before their connections are closed. */
  httpCloseMs: number;
  /** The read-only web view (`--ui`), with its token (none: open, for a loopback address only; the command checks that). */
  ui?: { token: string | undefined };
};

export type ServeDeps = {
  logger: Logger;
  /** The sync's dependencies for one run: `signal` reaches its query, git commands and GitHub requests. */
  syncDeps: (signal: AbortSignal) => SyncDeps;
  locker: HubLocker;
  sourceDeps: SourceDeps;
  repoKey: (hub: Hub) => string;
  webhookToken: string | undefined;
  /** The health read-back, after each sync and on its interval; absent: none (no cluster, or a test). */
  readBack?: ServiceReadBack;
  /** The cache clone of a hub's repository, for the web view's reads (with `ui`). */
  openRepo?: (hub: Hub) => Promise<ManifestsRepo>;
  /** The statuses the last read-back of a hub kept (the status memo): the web view shows them until this service reads the hub back. */
  statusMemo?: (hub: string) => Promise<Map<string, StatusFact>>;
  clock?: () => number;
};

export type Service = {
  address: AddressInfo;
  /** Read the hub and form files again (what SIGHUP and file changes do). */
  reload(): Promise<void>;
  /** Stop ticks and triggers, wait for running syncs (then abort them), close the HTTP side. True when every sync ended. */
  stop(): Promise<boolean>;
};

/**
 * `lynq serve`: every hub on its schedule, on PostgreSQL notifications and on the webhook,
 * each sync under the hub's lock (so replicas and CronJobs never write at once), with
 * /healthz, /readyz and /metrics. The first config must load (its folders readable);
 * after that, a broken file keeps its last good version and is reported.
 */
export function startService(options: ServeOptions, deps: ServeDeps): Promise<Service> {
  return new RunningService(options, deps).start();
}

/**
 * The parts of `lynq serve` and how they meet: the config store and its reloads, the
 * scheduler that runs each hub under its lock, the read-back loop, the PostgreSQL
 * listeners, the web view's memory, and the HTTP side that reports on all of them.
 */
class RunningService {
  private readonly clock: () => number;
  private readonly metrics = new ServiceMetrics();
  private readonly store: ConfigStore;
  private readonly listeners = new Map<string, { listener: Listener; key: string }>();
  private problems: ConfigProblem[] = [];
  private loaded = false;
  private stopping = false;
  private reloading = Promise.resolve();
  /** What the web view shows: filled as syncs and read-backs end, so a page never reads the cluster or the database. */
  private readonly fleet: FleetState | undefined;
  private readonly gitView: GitView | undefined;
  private readonly readBacks: ReadBackLoop | undefined;
  private readonly scheduler: HubScheduler;

  constructor(
    private readonly options: ServeOptions,
    private readonly deps: ServeDeps,
  ) {
    const { logger } = deps;
    this.clock = deps.clock ?? Date.now;
    this.store = new ConfigStore({ hubsDir: options.hubsDir, formsDir: options.formsDir });
    this.fleet = options.ui === undefined ? undefined : new FleetState(this.clock, deps.statusMemo);
    this.gitView = options.ui === undefined || deps.openRepo === undefined ? undefined : new GitView(deps.openRepo);
    this.readBacks =
      deps.readBack === undefined
        ? undefined
        : new ReadBackLoop({
            logger,
            metrics: this.metrics,
            readBack: deps.readBack,
            intervalMs: options.readBackIntervalMs,
            clock: this.clock,
            onResult: (result) => this.fleet?.readBack(result),
          });
    this.scheduler = new HubScheduler({
      logger,
      metrics: this.metrics,
      runHub: (hub, forms, signal, trigger) => this.runHub(hub, forms, signal, trigger),
      repoKey: deps.repoKey,
      debounceMs: options.debounceMs,
      maxDebounceMs: options.maxDebounceMs,
      clock: this.clock,
    });
  }

  async start(): Promise<Service> {
    const { logger } = this.deps;
    const server = createHttpServer({
      logger,
      readiness: () => (this.stopping ? { ready: false, reasons: ['shutting down'] } : this.readiness()),
      metrics: this.metrics,
      webhookToken: this.deps.webhookToken,
      // A sync asked for while stopping would never run: the caller is told so (503), not told it was accepted.
      requestSync: (hub) =>
        this.stopping ? 'stopping' : this.scheduler.request(hub, 'webhook') ? 'accepted' : 'unknown',
      web:
        this.fleet === undefined || this.gitView === undefined
          ? undefined
          : createWebView({
              state: this.fleet,
              git: this.gitView,
              token: this.options.ui?.token === undefined ? undefined : new TokenCheck(this.options.ui.token),
              logger,
            }),
    });
    // The port first: one already in use is a clean error before any sync has started (nothing to stop).
    const address = await listen(server, this.options.listen);
    try {
      // The first load must work: a folder that cannot be read is a ConfigError, and serve does not start.
      await this.reload();
    } catch (error) {
      await this.scheduler.stop(0, 0);
      await closeServer(server, 0);
      throw error;
    }
    const ui = this.options.ui === undefined ? false : this.options.ui.token === undefined ? 'open' : 'token';
    logger.info(
      { address: `${address.address}:${address.port}`, webhook: this.deps.webhookToken !== undefined, ui },
      'serving',
    );
    const watchers = this.options.watchFiles
      ? watchFolders([this.options.hubsDir, this.options.formsDir], () => void this.queueReload(), logger)
      : undefined;
    return {
      address,
      reload: () => this.queueReload(),
      stop: async () => {
        this.stopping = true;
        watchers?.close();
        const ended = await this.scheduler.stop(this.options.graceMs, this.options.abortWaitMs);
        await this.readBacks?.stop();
        await Promise.all([...this.listeners.values()].map((entry) => entry.listener.stop()));
        this.listeners.clear();
        await closeServer(server, this.options.httpCloseMs);
        await this.gitView?.close();
        return ended;
      },
    };
  }

  private queueReload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => this.reload())
      .catch((error: unknown) =>
        this.deps.logger.error({ err: messageOf(error) }, 'config reload failed; keeping the current config'),
      );
    return this.reloading;
  }

  private syncDepsFor(signal: AbortSignal): SyncDeps {
    const syncDeps = this.deps.syncDeps(signal);
    const fleet = this.fleet;
    if (fleet === undefined) return syncDeps;
    return {
      ...syncDeps,
      readRows: async (hub, rowSignal) => {
        const rows = await syncDeps.readRows(hub, rowSignal);
        fleet.sawRows(hub.name, rows);
        return rows;
      },
    };
  }

  private async runHub(hub: Hub, forms: readonly Form[], signal: AbortSignal, trigger: Trigger): Promise<RunResult> {
    const { logger } = this.deps;
    const clock = this.clock;
    let run: LockedRun<HubSyncResult>;
    try {
      run = await withHubLock(this.deps.locker, hub, { waitMs: 0, signal }, async (held) => {
        const started = clock();
        // One line per sync at serve's default level (info): the finish, with its trigger; the start only at debug.
        logger.debug({ hub: hub.name, trigger, pid: process.pid, at: started }, 'sync started');
        let result = await syncHub(hub, forms, this.syncDepsFor(held), { allowDeletions: false });
        // Stopped without serve stopping: the lock was lost (its session dropped or went silent). That is the
        // source failing, and counts as such, not as a shutdown that says nothing about the hub.
        if (result.outcome === 'aborted' && !signal.aborted)
          result = { hub: hub.name, outcome: 'source-failed', error: messageOf(held.reason) };
        const commit = 'commit' in result ? result.commit : undefined;
        logger.info(
          {
            hub: hub.name,
            trigger,
            pid: process.pid,
            outcome: result.outcome,
            commit,
            at: clock(),
            ms: clock() - started,
          },
          'sync finished',
        );
        this.fleet?.synced(result);
        return result;
      });
    } catch (error) {
      return { ran: true, result: lockFailure(hub, error, logger) };
    }
    // After the lock: the read-back writes statuses, not Git, and a replica may sync meanwhile.
    if (run.ran) await this.readBacks?.afterSync(hub, run.value);
    return run.ran ? { ran: true, result: run.value } : run;
  }

  private async reload(): Promise<void> {
    const { logger } = this.deps;
    const snapshot = await this.store.load();
    this.problems = snapshot.problems;
    for (const problem of this.problems)
      logger.error(
        { file: problem.file, err: problem.error, keptLastGood: problem.keptLastGood },
        'config file rejected; its last good version stays in force',
      );
    this.metrics.configProblems.set(this.problems.length);
    let hubs = snapshot.hubs;
    if (this.options.hub !== undefined) {
      const only = hubs.get(this.options.hub);
      hubs = new Map(only === undefined ? [] : [[this.options.hub, only]]);
      if (only === undefined) logger.error({ hub: this.options.hub }, 'no hub by that name in the hubs folder');
    }
    this.readBacks?.update(hubs);
    this.fleet?.config(hubs, snapshot.forms, this.problems);
    const changes = this.scheduler.update(hubs, snapshot.forms);
    if (changes.added.length + changes.changed.length + changes.removed.length > 0)
      logger.info(changes, 'config loaded');
    this.updateListeners(hubs);
    this.loaded = true;
  }

  private updateListeners(hubs: ReadonlyMap<string, Hub>): void {
    for (const [name, entry] of this.listeners) {
      const hub = hubs.get(name);
      if (hub !== undefined && listenKey(hub) === entry.key) continue;
      this.listeners.delete(name);
      void entry.listener.stop();
    }
    for (const [name, hub] of hubs) {
      if (this.listeners.has(name)) continue;
      const listener = listenForHub(hub, this.deps.sourceDeps, () => void this.scheduler.request(name, 'notify'));
      if (listener !== undefined) this.listeners.set(name, { listener, key: listenKey(hub) });
    }
  }

  private readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.loaded) reasons.push('the config is not loaded yet');
    for (const problem of this.problems) if (!problem.keptLastGood) reasons.push(`config: ${problem.error}`);
    if (this.options.hub !== undefined && !this.scheduler.has(this.options.hub))
      reasons.push(`no hub named ${this.options.hub}`);
    const now = this.clock();
    const readyFailureMs = this.options.readyFailureMs;
    for (const hub of this.scheduler.readiness()) {
      if (hub.failingSince !== undefined && now - hub.failingSince > readyFailureMs) {
        reasons.push(
          `hub ${hub.hub}: syncs failing (${hub.lastOutcome}) for ${Math.round((now - hub.failingSince) / 1000)}s`,
        );
      } else if (hub.runningSince !== undefined && now - hub.runningSince > readyFailureMs) {
        // A sync that never ends holds its hub as surely as one that fails every time.
        reasons.push(`hub ${hub.hub}: one sync running for ${Math.round((now - hub.runningSince) / 1000)}s`);
      }
    }
    for (const hub of this.readBacks?.readiness() ?? []) {
      if (hub.failingSince !== undefined && now - hub.failingSince > readyFailureMs) {
        reasons.push(
          `hub ${hub.hub}: read-backs failing (${hub.lastOutcome}) for ${Math.round((now - hub.failingSince) / 1000)}s`,
        );
      }
    }
    return { ready: reasons.length === 0, reasons };
  }
}

function listenKey(hub: Hub): string {
  return JSON.stringify([hub.spec.source.type, hub.spec.source.postgresql]);
}

/** Folder watchers, debounced: an editor's save or a ConfigMap's symlink swap is several events. */
function watchFolders(dirs: readonly string[], onChange: () => void, logger: Logger): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, 250);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      const watcher = watch(dir, changed);
      watcher.on('error', (error) =>
        logger.warn({ dir, err: messageOf(error) }, 'cannot watch the folder; reload with SIGHUP'),
      );
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ dir, err: messageOf(error) }, 'cannot watch the folder; reload with SIGHUP');
    }
  }
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
