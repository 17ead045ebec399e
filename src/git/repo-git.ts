import type { CloneLock } from './clone-lock.ts';
import { markDamaged } from './cache-clone.ts';
import { saysNoSpace } from './fs-failure.ts';
import { gitFailure, gitText, runGit, type RunResult } from './git.ts';
import type { GitError } from '../errors.ts';
import type { RepoOptions } from './repo-types.ts';
import type { TreeEntry } from './wide-folders.ts';

/** Paths per `git ls-tree` command: well under any command-line limit. */
const LS_TREE_PREFIXES = 500;

/**
 * The cache clone's git, as every job of the repository uses it (reads, the commit, the
 * remote): its two runners, the errors a failed command becomes, and `ls-tree`.
 */
export class CloneGit {
  constructor(
    readonly dir: string,
    readonly url: string,
    readonly options: RepoOptions,
    /** The clone's own temporary folder (a dry run's); undefined for a cache clone. */
    readonly temporary: string | undefined,
  ) {}

  /**
   * The streaming runner (git.ts): for what is fed on stdin (cat-file --batch), talks to
   * the remote (ls-remote, fetch, push: their whole process group must die on a timeout)
   * or prints nothing (update-ref, cat-file -e), gc (its repack children), and ls-tree of
   * the hub's folder (measured slower through simple-git: see listTree).
   */
  run(args: readonly string[], input?: Iterable<Buffer | string>): Promise<RunResult> {
    return runGit(this.dir, args, { ...this.options, input });
  }

  /** A local command that prints text, through simple-git (git.ts: gitText). */
  text(args: readonly string[]): Promise<RunResult> {
    return gitText(this.dir, args, this.options);
  }

  /** A failed git command as a GitError; a full disk is said in words, with the clone's path. */
  failure(action: string, result: RunResult | { stderr: string }): GitError {
    if (saysNoSpace(result.stderr)) return gitFailure(`${action} (no space left on device in ${this.dir})`, result);
    return gitFailure(action, result);
  }

  /** A command that reads only the clone failed: the clone is suspect, and the next open starts it afresh. */
  async localFailure(action: string, result: RunResult): Promise<GitError> {
    if (
      this.temporary === undefined &&
      !saysNoSpace(result.stderr) &&
      !result.aborted &&
      result.timedOutAfterSeconds === undefined
    )
      await markDamaged(this.dir, `${action}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    return this.failure(action, result);
  }

  /** `git ls-tree` of `prefixes` at `commit` (path → mode, type and id), a few hundred prefixes per command. */
  async lsTree(
    commit: string,
    options: readonly string[],
    prefixes: readonly string[],
  ): Promise<Map<string, TreeEntry>> {
    const entries = new Map<string, TreeEntry>();
    for (let at = 0; at < prefixes.length; at += LS_TREE_PREFIXES) {
      const some = prefixes.slice(at, at + LS_TREE_PREFIXES);
      const result = await this.run(['ls-tree', ...options, '-z', '--full-tree', commit, '--', ...some]);
      if (result.code !== 0)
        throw await this.localFailure(
          `listing ${some.length === 1 ? some[0] : `${some[0]} and ${some.length - 1} more`} at ${commit}`,
          result,
        );
      for (const entry of result.stdout.toString('utf8').split('\0')) {
        if (entry === '') continue;
        const tab = entry.indexOf('\t');
        const [mode, type, id] = entry.slice(0, tab).split(' ');
        if (mode !== undefined && type !== undefined && id !== undefined)
          entries.set(entry.slice(tab + 1), { mode, type, id });
      }
    }
    return entries;
  }
}

/**
 * Turns at the clone's lock: a change (a fetch, a push) takes the lock for itself, and a
 * commit holds it from the first file stored ahead to the end of the commit (the changes
 * made meanwhile run inside that turn). Without a cache (a dry run's own clone) there is
 * no lock.
 */
export class CloneTurns {
  /** The lock while a commit is being built (from the first storeAhead to the end of commit). */
  private building: Promise<CloneLock | undefined> | undefined;

  constructor(private readonly relock: (() => Promise<CloneLock>) | undefined) {}

  /** Run `change` holding the clone's lock (already held while a commit is being built). */
  async locked<T>(change: () => Promise<T>): Promise<T> {
    if (this.building !== undefined || this.relock === undefined) return change();
    const lock = await this.relock();
    try {
      return await change();
    } finally {
      await lock.release();
    }
  }

  /** Take the lock for a commit being built, until endBuilding(); resolves when it is held. */
  async startBuilding(): Promise<void> {
    this.building ??= this.relock === undefined ? Promise.resolve(undefined) : this.relock();
    await this.building;
  }

  async endBuilding(): Promise<void> {
    const building = this.building;
    this.building = undefined;
    await (await building?.catch(() => undefined))?.release();
  }
}
