import os from 'node:os';
import path from 'node:path';

/** Where the bridge keeps what it can rebuild (cache clones, health memos, locks): LYNQ_CACHE_DIR, else the XDG cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LYNQ_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lynq');
}
