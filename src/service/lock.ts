import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hub } from '../config/load.ts';
import { ConfigError, InternalError, isLynqError, messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SourceDeps } from '../sources/types.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import { openMysqlLock, openPostgresqlLock, type DatabaseLockSession } from '../sources/lock.ts';
import { tryLockFile } from './lock-file.ts';

/**
 * "Never two writers on one hub": before a hub's sync, its lock. For mysql and postgresql
 * hubs it is a lock on the hub's own source database (every process that can sync the hub
 * can reach it, across machines, and the server frees it when the holder's session ends);
 * for pglite, which lives inside one process, a lock file with the holder's pid and host.
 */
export type HubLockHandle = {
  /** Aborted if the lock is lost while held (its database session dropped). */
  lost: AbortSignal;
  release(): Promise<void>;
};

export type HubLockAttempt = { acquired: true; handle: HubLockHandle } | { acquired: false; holder: string };

export type LockOptions = {
  /** How long to keep trying while someone else holds it; 0 tries once. */
  waitMs: number;
  signal?: AbortSignal;
};

export type HubLocker = (hub: Hub, options: LockOptions) => Promise<HubLockAttempt>;

export type LockerDeps = SourceDeps & {
  /** Where pglite hubs keep their lock files when they have no data directory. */
  cacheDir: string;
  /** Between tries while waiting. */
  retryMs?: number;
};

/** The locker for real runs; every failure to reach the lock's database is a SourceError. */
export function createHubLocker(deps: LockerDeps): HubLocker {
  const retryMs = deps.retryMs ?? 250;
  // Lock sessions this locker opened and could not close cleanly (frozen, dropped): the server may still hold
  // one, and its lock. The next run that finds such a session holding the hub ends it instead of skipping for hours.
  const lost = new Set<string>();
  const staleKey = (hub: Hub, id: string): string => `${hub.name}\0${id}`;
  return async (hub, options) => {
    const deadline = Date.now() + options.waitMs;
    const { source } = hub.spec;
    if (source.type === 'pglite') {
      const file = pgliteLockFile(hub, deps.cacheDir);
      for (;;) {
        const attempt = await tryLockFile(file);
        if (attempt.acquired)
          return { acquired: true, handle: { lost: new AbortController().signal, release: attempt.release } };
        if (Date.now() >= deadline || options.signal?.aborted === true) return attempt;
        await sleep(retryMs, undefined, { signal: options.signal }).catch(() => undefined);
      }
    }
    const settings = source.type === 'mysql' ? source.mysql : source.postgresql;
    // The hub schema requires the settings of its source type: a hub without them is a bug here, not a config error.
    if (settings === undefined) throw new InternalError(`hub ${hub.name} has no spec.source.${source.type}`);
    const session =
      source.type === 'mysql'
        ? await openMysqlLock(hub, settings, deps)
        : await openPostgresqlLock(hub, settings, deps);
    const close = async (): Promise<void> => {
      if (!(await session.close()) && session.id !== undefined) lost.add(staleKey(hub, session.id));
    };
    try {
      for (;;) {
        if (await session.tryLock()) {
          if (session.id !== undefined) lost.delete(staleKey(hub, session.id));
          return { acquired: true, handle: heldHandle(hub, session, close, deps) };
        }
        const holder = await session.holder().catch(() => undefined);
        if (holder !== undefined && lost.has(staleKey(hub, holder.id))) {
          deps.logger.warn(
            { hub: hub.name, holder: holder.text },
            'sync lock held by a session this process lost; ending it',
          );
          lost.delete(staleKey(hub, holder.id));
          await session.terminate(holder.id);
          continue;
        }
        if (Date.now() >= deadline || options.signal?.aborted === true) {
          await close();
          return {
            acquired: false,
            holder: holder?.text ?? 'another session (it let go just now, or its name cannot be read)',
          };
        }
        await sleep(retryMs, undefined, { signal: options.signal }).catch(() => undefined);
      }
    } catch (error) {
      await close();
      throw error;
    }
  };
}

function heldHandle(
  hub: Hub,
  session: DatabaseLockSession,
  close: () => Promise<void>,
  deps: LockerDeps,
): HubLockHandle {
  const lost = new AbortController();
  session.onLost((error) => {
    deps.logger.error({ hub: hub.name, err: messageOf(error) }, 'sync lock lost: its database session dropped');
    lost.abort(new Error(`the sync lock of hub ${hub.name} was lost: ${messageOf(error)}`));
  });
  return { lost: lost.signal, release: close };
}

/** Next to the data directory when there is one (that is what two processes would share), else in the cache. */
export function pgliteLockFile(hub: Hub, cacheDir: string): string {
  const dataDir = hub.spec.source.pglite?.dataDir;
  if (dataDir !== undefined) return `${path.resolve(path.dirname(hub.file), dataDir)}.lynq-sync.lock`;
  // Not under locks/: that folder holds the cache clones' own locks.
  return path.join(cacheDir, 'hub-locks', `${hub.name}.lock`);
}

export type LockedRun<T> = { ran: true; value: T } | { ran: false; holder: string };

/** Run `work` holding the hub's lock (its `lost` signal passed in), or say who holds it. */
export async function withHubLock<T>(
  lock: HubLocker,
  hub: Hub,
  options: LockOptions,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<LockedRun<T>> {
  const attempt = await lock(hub, options);
  if (!attempt.acquired) return { ran: false, holder: attempt.holder };
  try {
    const signal =
      options.signal === undefined ? attempt.handle.lost : AbortSignal.any([options.signal, attempt.handle.lost]);
    return { ran: true, value: await work(signal) };
  } finally {
    await attempt.handle.release();
  }
}

/**
 * A hub whose lock could not be taken, as its sync's result: the lock lives on the hub's
 * source database, so not reaching it is the source failing (a config error stays one).
 * Anything that is not one of the bridge's errors is rethrown.
 */
export function lockFailure(hub: Hub, error: unknown, logger: Logger): HubSyncResult {
  if (!isLynqError(error)) throw error;
  logger.error({ hub: hub.name, err: messageOf(error) }, 'source failed; nothing changed');
  return {
    hub: hub.name,
    outcome: error instanceof ConfigError ? 'config-failed' : 'source-failed',
    error: messageOf(error),
  };
}
