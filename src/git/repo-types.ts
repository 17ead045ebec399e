import type { Logger } from '../logger.ts';
import type { GitOptions } from './git.ts';
import type { NodeRef } from './history.ts';

export type PushOutcome = 'pushed' | 'moved';

export type HistoryQuery = { paths: readonly string[]; node: NodeRef; patch: boolean; limit?: number };

export type CommitInfo = {
  id: string;
  tree: string;
  parents: string[];
  committer: { name: string; email: string };
  message: string;
};

/** `signal` (from GitOptions) cancels every git command of the repository, its lock wait included. */
export type RepoOptions = GitOptions & {
  /** URL or local path of the manifests repository. */
  url: string;
  /** Folder that keeps cached clones between runs; a temporary one is used (and removed) when undefined. */
  cacheDir: string | undefined;
  logger: Logger;
  /** How long to wait for another user of the same cache clone (another hub on the same repository, another process). */
  lockWaitMs?: number;
  /**
   * The branch the first fetch() asks for: its head is asked of the remote while the clone
   * is opened and checked, not after (over a network, the slowest step of a no-op sync).
   */
  branch?: string;
};
