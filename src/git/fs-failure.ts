import { mkdirSync } from 'node:fs';
import { GitError } from '../errors.ts';

/** What the operator can do about a file-system error in the cache, by its code. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded (no space left for this user)',
  EACCES: 'permission denied (the cache folder must be writable by the user lynq runs as)',
  EPERM: 'operation not permitted (the cache folder must be writable by the user lynq runs as)',
  EROFS: 'the file system is read-only (set LYNQ_CACHE_DIR to a writable folder)',
  ENOTDIR: 'a file is in the way where a folder should be',
  EEXIST: 'a file is in the way where a folder should be',
};

/** A file-system error in the cache as a GitError that names the path and says what is wrong in words. */
export function fsFailure(action: string, at: string, error: unknown): GitError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    (code !== undefined ? REASONS[code] : undefined) ?? (error instanceof Error ? error.message : String(error));
  return new GitError(`${action} (${at}): ${reason}`, {}, { cause: error });
}

/** git's own words for a full disk, in its stderr (C locale). */
export function saysNoSpace(stderr: string): boolean {
  return /No space left on device|Out of diskspace|Disk quota exceeded/i.test(stderr);
}

/**
 * `mkdir -p`, failing as a GitError that says why (a recursive mkdir on a read-only file
 * system reports ENOENT: ask again without it). Synchronous: a few microseconds, where an
 * await waits for the event loop, which a sync reading 100,000 rows keeps busy.
 */
export function ensureDir(dir: string, action: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        mkdirSync(dir);
        return;
      } catch (second) {
        throw fsFailure(action, dir, second);
      }
    }
    throw fsFailure(action, dir, error);
  }
}
