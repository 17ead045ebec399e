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
export async function startService(options: ServeOptions, deps: ServeDeps): Promise<Service> {
  const { logger } = deps;
  const clock = deps.clock ?? Date.now;
  const metrics = new ServiceMetrics();
  const store = new ConfigStore({ hubsDir: options.hubsDir, formsDir: options.formsDir });
  const listeners = new Map<string, { listener: Listener; key: string }>();
  let problems: ConfigProblem[] = [];
  let loaded = false;
  // What the web view shows: filled as syncs and read-backs end, so a page never reads the cluster or the database.
  const fleet = options.ui === undefined ? undefined : new FleetState(clock, deps.statusMemo);
  const gitView = options.ui === undefined || deps.openRepo === undefined ? undefined : new GitView(deps.openRepo);
  const syncDepsFor = (signal: AbortSignal): SyncDeps => {
    const syncDeps = deps.syncDeps(signal);
    if (fleet === undefined) return syncDeps;
    return {
      ...syncDeps,
      readRows: async (hub, rowSignal) => {
        const rows = await syncDeps.readRows(hub, rowSignal);
        fleet.sawRows(hub.name, rows);
        return rows;
      },
    };
  };

  const runHub = async (hub: Hub, forms: readonly Form[], signal: AbortSignal, trigger: Trigger): Promise<RunResult> => {
    let run: LockedRun<HubSyncResult>;
    try {
      run = await withHubLock(deps.locker, hub, { waitMs: 0, signal }, async (held) => {
        const started = clock();
        // One line per sync at serve's default level (info): the finish, with its trigger; the start only at debug.
        logger.debug({ hub: hub.name, trigger, pid: process.pid, at: started }, 'sync started');
        let result = await syncHub(hub, forms, syncDepsFor(held), { allowDeletions: false });
        // Stopped without serve stopping: the lock was lost (its session dropped or went silent). That is the
        // source failing, and counts as such, not as a shutdown that says nothing about the hub.
        if (result.outcome === 'aborted' && !signal.aborted) result = { hub: hub.name, outcome: 'source-failed', error: messageOf(held.reason) };
        const commit = 'commit' in result ? result.commit : undefined;
        logger.info({ hub: hub.name, trigger, pid: process.pid, outcome: result.outcome, commit, at: clock(), ms: clock() - started }, 'sync finished');
        fleet?.synced(result);
        return result;
      });
    } catch (error) {
      return { ran: true, result: lockFailure(hub, error, logger) };
    }
    // After the lock: the read-back writes statuses, not Git, and a replica may sync meanwhile.
    if (run.ran) await readBacks?.afterSync(hub, run.value);
    return run.ran ? { ran: true, result: run.value } : run;
  };

  const readBacks =
    deps.readBack === undefined
      ? undefined
      : new ReadBackLoop({ logger, metrics, readBack: deps.readBack, intervalMs: options.readBackIntervalMs, clock, onResult: (result) => fleet?.readBack(result) });
  const scheduler = new HubScheduler({ logger, metrics, runHub, repoKey: deps.repoKey, debounceMs: options.debounceMs, maxDebounceMs: options.maxDebounceMs, clock });

  const reload = async (): Promise<void> => {
    const snapshot = await store.load();
    problems = snapshot.problems;
    for (const problem of problems) logger.error({ file: problem.file, err: problem.error, keptLastGood: problem.keptLastGood }, 'config file rejected; its last good version stays in force');
    metrics.configProblems.set(problems.length);
    let hubs = snapshot.hubs;
    if (options.hub !== undefined) {
      const only = hubs.get(options.hub);
      hubs = new Map(only === undefined ? [] : [[options.hub, only]]);
      if (only === undefined) logger.error({ hub: options.hub }, 'no hub by that name in the hubs folder');
    }
    readBacks?.update(hubs);
    fleet?.config(hubs, snapshot.forms, problems);
    const changes = scheduler.update(hubs, snapshot.forms);
    if (changes.added.length + changes.changed.length + changes.removed.length > 0) logger.info(changes, 'config loaded');
    updateListeners(hubs);
    loaded = true;
  };

  const updateListeners = (hubs: ReadonlyMap<string, Hub>): void => {
    for (const [name, entry] of listeners) {
      const hub = hubs.get(name);
      if (hub !== undefined && listenKey(hub) === entry.key) continue;
      listeners.delete(name);
      void entry.listener.stop();
    }
    for (const [name, hub] of hubs) {
      if (listeners.has(name)) continue;
      const listener = listenForHub(hub, deps.sourceDeps, () => void scheduler.request(name, 'notify'));
      if (listener !== undefined) listeners.set(name, { listener, key: listenKey(hub) });
    }
  };

  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (!loaded) reasons.push('the config is not loaded yet');
    for (const problem of problems) if (!problem.keptLastGood) reasons.push(`config: ${problem.error}`);
    if (options.hub !== undefined && !scheduler.has(options.hub)) reasons.push(`no hub named ${options.hub}`);
    const now = clock();
    for (const hub of scheduler.readiness()) {
      if (hub.failingSince !== undefined && now - hub.failingSince > options.readyFailureMs) {
        reasons.push(`hub ${hub.hub}: syncs failing (${hub.lastOutcome}) for ${Math.round((now - hub.failingSince) / 1000)}s`);
      } else if (hub.runningSince !== undefined && now - hub.runningSince > options.readyFailureMs) {
        // A sync that never ends holds its hub as surely as one that fails every time.
        reasons.push(`hub ${hub.hub}: one sync running for ${Math.round((now - hub.runningSince) / 1000)}s`);
      }
    }
    for (const hub of readBacks?.readiness() ?? []) {
      if (hub.failingSince !== undefined && now - hub.failingSince > options.readyFailureMs) {
        reasons.push(`hub ${hub.hub}: read-backs failing (${hub.lastOutcome}) for ${Math.round((now - hub.failingSince) / 1000)}s`);
      }
    }
    return { ready: reasons.length === 0, reasons };
  };

  let stopping = false;
  const server = createHttpServer({
    logger,
    readiness: () => (stopping ? { ready: false, reasons: ['shutting down'] } : readiness()),
    metrics,
    webhookToken: deps.webhookToken,
    // A sync asked for while stopping would never run: the caller is told so (503), not told it was accepted.
    requestSync: (hub) => (stopping ? 'stopping' : scheduler.request(hub, 'webhook') ? 'accepted' : 'unknown'),
    web:
      fleet === undefined || gitView === undefined
        ? undefined
        : createWebView({ state: fleet, git: gitView, token: options.ui?.token === undefined ? undefined : new TokenCheck(options.ui.token), logger }),
  });
  // The port first: one already in use is a clean error before any sync has started (nothing to stop).
  const address = await listen(server, options.listen);
  try {
    // The first load must work: a folder that cannot be read is a ConfigError, and serve does not start.
    await reload();
  } catch (error) {
    await scheduler.stop(0, 0);
    await closeServer(server, 0);
    throw error;
  }
  logger.info(
    { address: `${address.address}:${address.port}`, webhook: deps.webhookToken !== undefined, ui: options.ui === undefined ? false : options.ui.token === undefined ? 'open' : 'token' },
    'serving',
  );

  let reloading = Promise.resolve();
  const queueReload = (): Promise<void> => {
    reloading = reloading.then(reload).catch((error: unknown) => logger.error({ err: messageOf(error) }, 'config reload failed; keeping the current config'));
    return reloading;
  };
  const watchers = options.watchFiles ? watchFolders([options.hubsDir, options.formsDir], () => void queueReload(), logger) : undefined;

  return {
    address,
    reload: queueReload,
    async stop() {
      stopping = true;
      watchers?.close();
      const ended = await scheduler.stop(options.graceMs, options.abortWaitMs);
      await readBacks?.stop();
      await Promise.all([...listeners.values()].map((entry) => entry.listener.stop()));
      listeners.clear();
      await closeServer(server, options.httpCloseMs);
      await gitView?.close();
      return ended;
    },
  };
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
      watcher.on('error', (error) => logger.warn({ dir, err: messageOf(error) }, 'cannot watch the folder; reload with SIGHUP'));
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
