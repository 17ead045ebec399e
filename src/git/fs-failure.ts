import { mkdir } from 'node:fs/promises';
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
  const reason = (code !== undefined ? REASONS[code] : undefined) ?? (error instanceof Error ? error.message : String(error));
  return new GitError(`${action} (${at}): ${reason}`, {}, { cause: error });
}

/** git's own words for a full disk, in its stderr (C locale). */
export function saysNoSpace(stderr: string): boolean {
  return /No space left on device|Out of diskspace|Disk quota exceeded/i.test(stderr);
}

/** `mkdir -p`, failing as a GitError that says why (a recursive mkdir on a read-only file system reports ENOENT: ask again without it). */
export async function ensureDir(dir: string, action: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const again = await mkdir(dir).then(
        () => undefined,
        (second: unknown) => second,
      );
      if (again === undefined) return;
      throw fsFailure(action, dir, again);
    }
    throw fsFailure(action, dir, error);
  }
}
