import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GitError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ensureDir, fsFailure } from './fs-failure.ts';

/**
 * One cache clone, one user at a time: two hubs sharing a repository (in one process or
 * two, or two pods on one volume) would otherwise race on its refs, packs and gc. The lock
 * is a folder (mkdir is atomic on every file system a cache lives on) holding who took it;
 * its holder touches it every few seconds, so a lock whose holder was killed (or whose pod
 * is gone: pids repeat across containers) is taken over once it has not been touched for
 * STALE_MS, or at once when its holder is a process of this host that no longer exists.
 */

/** `waited`: another user held the clone when it was asked for (what was read of the remote before may be old now). */
export type CloneLock = { release(): Promise<void>; waited: boolean };

export type LockOptions = {
  logger: Logger;
  /** How long to wait for another user of the clone; a GitError naming the holder then. */
  waitMs?: number;
  signal?: AbortSignal;
  /** For tests: how often to touch, when a lock is stale, how often to look again. */
  heartbeatMs?: number;
  staleMs?: number;
  pollMs?: number;
};

type Owner = { pid: number; host: string; since: string };

const DEFAULTS = { waitMs: 15 * 60_000, heartbeatMs: 5_000, staleMs: 30_000, pollMs: 100 };

export async function acquireCloneLock(lockDir: string, options: LockOptions): Promise<CloneLock> {
  const { waitMs, heartbeatMs, staleMs, pollMs } = { ...DEFAULTS, ...withoutUndefined(options) };
  ensureDir(path.dirname(lockDir), 'cannot create the lock folder of the cache');
  const started = Date.now();
  let waitedFor: Owner | undefined;
  for (;;) {
    if (options.signal?.aborted) throw new GitError(`cancelled while waiting for the cache clone (lock ${lockDir})`);
    const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
    try {
      // Synchronous, like the clone's checks (ensureDir says why): a free lock costs no turn of the event loop.
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
      return holding(lockDir, heartbeatMs, waitedFor !== undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw fsFailure('cannot take the lock of the cache clone', lockDir, error);
    }
    const holder = await readOwner(lockDir);
    if (await isStale(lockDir, holder, staleMs)) {
      options.logger.warn(
        { lock: lockDir, holder },
        'a lock on the cache clone was left by a process that is gone; taking it over',
      );
      // Renamed first, so two waiters that both found it stale cannot both remove a fresh lock.
      const aside = `${lockDir}.stale-${process.pid}-${Date.now()}`;
      await rename(lockDir, aside).then(
        () => rm(aside, { recursive: true, force: true }),
        () => undefined,
      );
      continue;
    }
    if (waitedFor === undefined) {
      waitedFor = holder;
      options.logger.info({ lock: lockDir, holder }, 'the cache clone is in use; waiting for it');
    }
    if (Date.now() - started > waitMs) {
      const who =
        holder === undefined ? 'another process' : `process ${holder.pid} on ${holder.host} since ${holder.since}`;
      throw new GitError(
        `the cache clone is in use by ${who} (lock ${lockDir}); gave up after ${Math.round(waitMs / 1000)} s`,
      );
    }
    await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined); // an abort is reported at the top of the loop
  }
}

function holding(lockDir: string, heartbeatMs: number, waited: boolean): CloneLock {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(lockDir, now, now).catch(() => undefined);
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    waited,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await rm(lockDir, { recursive: true, force: true });
    },
  };
}

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(path.join(lockDir, 'owner.json'), 'utf8')) as Owner;
  } catch {
    return undefined; // being written, or being removed
  }
}

async function isStale(lockDir: string, holder: Owner | undefined, staleMs: number): Promise<boolean> {
  let touched: number;
  try {
    touched = (await stat(lockDir)).mtimeMs;
  } catch {
    return false; // just released: the next round takes it
  }
  if (Date.now() - touched > staleMs) return true;
  if (holder === undefined || holder.host !== os.hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}
