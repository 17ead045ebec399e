import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What a lock file holds: enough to tell a live holder from a dead one on the same host. */
type LockFileContent = { pid: number; host: string; since: string };

/** A half-written lock file (its writer died between create and write) older than this is stale. */
const UNREADABLE_STALE_MS = 60_000;

export type FileLockAttempt = { acquired: true; release(): Promise<void> } | { acquired: false; holder: string };

/**
 * A lock file for sources that live in one process's reach (pglite): created with O_EXCL,
 * holding the holder's pid and host. A file left by a dead process on this host is stale
 * and taken over; one from another host cannot be checked from here and is respected
 * (remove it by hand if that host is gone). Two processes both taking over the same stale
 * file at the same instant is a narrow race this does not close.
 */
export async function tryLockFile(file: string): Promise<FileLockAttempt> {
  await mkdir(path.dirname(file), { recursive: true });
  const mine: LockFileContent = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return { acquired: true, release: () => releaseLockFile(file, mine) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readLockFile(file);
    if (current === 'gone') continue;
    if (current === 'unreadable') {
      if (await olderThan(file, UNREADABLE_STALE_MS)) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      return { acquired: false, holder: `an unreadable lock file ${file}` };
    }
    if (current.host === mine.host && !isAlive(current.pid)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    return {
      acquired: false,
      holder: `lynq ${current.host} pid ${current.pid} (since ${current.since}, lock file ${file})`,
    };
  }
  return { acquired: false, holder: `another process racing for ${file}` };
}

async function releaseLockFile(file: string, mine: LockFileContent): Promise<void> {
  const current = await readLockFile(file);
  // Never remove a file that is no longer ours (it was taken over as stale after all).
  if (
    typeof current === 'object' &&
    current.pid === mine.pid &&
    current.host === mine.host &&
    current.since === mine.since
  ) {
    await unlink(file).catch(() => undefined);
  }
}

async function readLockFile(file: string): Promise<LockFileContent | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockFileContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.since === 'string')
      return parsed as LockFileContent;
  } catch {
    // Falls through: a file still being written, or not ours.
  }
  return 'unreadable';
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > ms;
  } catch {
    return true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
