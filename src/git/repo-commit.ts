import { GitError } from '../errors.ts';
import { STAGING_ROOT, stagingCandidates, stagingPlan, type StagingPlan } from './fast-import-staging.ts';
import { FastImport, type CommitInput } from './fast-import.ts';
import { gcMightRun } from './gc-auto.ts';
import { startGit } from './git.ts';
import type { CloneGit, CloneTurns } from './repo-git.ts';
import {
  inWideFolder,
  planWideFolders,
  type TreeEntry,
  type WideGit,
  type WidePlan,
  wideFolders,
} from './wide-folders.ts';

/** Keeps the staging refs of commits built at the same time in one process apart. */
let stagingCounter = 0;

/**
 * Building commits in the clone without a work tree: files stored ahead while the sync
 * renders (one fast-import run from the first file to the commit, holding the clone's
 * lock), wide folders written whole (wide-folders.ts), then `gc --auto` as `git commit`
 * would. `held`: the commits the clone is known to hold, which each new one joins.
 */
export class CommitBuilder {
  /** The fast-import run that storeAhead() feeds, until the next commit() ends it. */
  private ahead: FastImport | undefined;

  constructor(
    private readonly git: CloneGit,
    private readonly turns: CloneTurns,
    private readonly held: Set<string>,
  ) {}

  async storeAhead(files: Iterable<readonly [string, string]>): Promise<void> {
    // fast-import writes a temporary pack from now until the commit: the clone is ours until then.
    if (this.ahead === undefined) await this.turns.startBuilding();
    this.ahead ??= this.fastImport();
    return this.ahead.store(files);
  }

  async commit(input: CommitInput): Promise<string> {
    await this.turns.startBuilding();
    try {
      const ref = `refs/lynq/staging-${process.pid}-${++stagingCounter}`;
      const wide = await this.widePlan(input);
      const staging = await this.stagingPlan(
        input.parent,
        [...input.writes.keys()].filter((file) => !inWideFolder(wide, file)),
      );
      const run = this.ahead ?? this.fastImport();
      this.ahead = undefined;
      const imported = await run.commit(input, ref, staging, wide);
      if (imported.code !== 0) throw this.git.failure('building the commit (git fast-import)', imported);
      const commit = imported.stdout.toString('utf8').trim();
      if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit))
        throw this.git.failure('reading the new commit', {
          stderr: `git fast-import said ${JSON.stringify(commit.slice(0, 100))} for its id`,
        });
      if (wide !== undefined) await this.checkWideTrees(wide);
      await this.tidy();
      this.held.add(commit);
      return commit;
    } finally {
      await this.turns.endBuilding();
    }
  }

  /**
   * What `git commit` does after each commit: pack the clone once loose objects or packs
   * pile up (small commits leave loose objects, big ones a pack each). A cache clone that
   * lives on a volume would otherwise grow with every sync. Usually a check of a few
   * milliseconds; in the foreground, so a CronJob's pod never ends in the middle of it.
   * git's own first test of whether there is anything to do is made here without starting
   * git (gc-auto.ts): most commits leave nothing to pack, and a git process was a step of
   * every commit's path to the push.
   */
  private async tidy(): Promise<void> {
    if (!gcMightRun(this.git.dir)) return;
    const result = await this.git.run(['-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet']);
    if (result.code !== 0)
      this.git.options.logger.warn(
        { err: result.stderr.trim() },
        'git gc --auto failed in the cache clone; the sync goes on',
      );
  }

  private fastImport(): FastImport {
    return new FastImport(startGit(this.git.dir, ['fast-import', '--quiet', '--done', '--force'], this.git.options));
  }

  /** The wide folders this commit writes whole (wide-folders.ts), or undefined when there are none or they cannot be. */
  private async widePlan(input: CommitInput): Promise<WidePlan | undefined> {
    const folders = wideFolders(changedPaths(input));
    if (folders.length === 0) return undefined;
    const git: WideGit = {
      lsTree: (commit, recursive, prefixes) => this.git.lsTree(commit, recursive ? ['-r'] : [], prefixes),
      mktree: async (entries) => {
        const result = await this.git.run(['mktree', '-z', '--missing'], mktreeInput(entries));
        if (result.code !== 0) throw this.git.failure('writing a folder of the commit (git mktree)', result);
        return result.stdout.toString('utf8').trim();
      },
    };
    return planWideFolders(git, input.parent, folders, input.writes, input.deletes);
  }

  /**
   * Every tree the wide folders name was written by fast-import: a tree id computed here
   * that git computed otherwise would leave a commit naming a missing tree, so it is
   * checked before anything is pushed (the commit is only a local ref until then).
   */
  private async checkWideTrees(wide: WidePlan): Promise<void> {
    if (wide.expectedTrees.length === 0) return;
    const result = await this.git.run(['cat-file', '--batch-check'], [`${wide.expectedTrees.join('\n')}\n`]);
    const missing = result.stdout
      .toString('utf8')
      .split('\n')
      .filter((line) => line.endsWith(' missing'));
    if (result.code !== 0 || missing.length > 0)
      throw new GitError(
        `building the commit: ${missing.length} folder tree(s) were not written as computed (${missing[0] ?? result.stderr.trim()}); nothing was pushed`,
      );
  }

  /** Which new folders fast-import should build apart (fast-import-staging.ts); the parent says which folders exist. */
  private async stagingPlan(parent: string | undefined, paths: readonly string[]): Promise<StagingPlan> {
    if (parent === undefined) return stagingPlan(paths, () => true);
    const asked = [STAGING_ROOT, ...stagingCandidates(paths)];
    const result = await this.git.run(
      ['cat-file', '--batch-check=%(objectname) %(objecttype)'],
      [asked.map((folder) => `${parent}:${folder}\n`).join('')],
    );
    if (result.code !== 0) throw this.git.failure('reading the parent commit', result);
    const lines = result.stdout.toString('utf8').split('\n');
    const existing = new Set(asked.filter((_, index) => !lines[index]!.endsWith(' missing')));
    // A repository that has a folder of that name is left alone: nothing is staged.
    if (existing.has(STAGING_ROOT)) return stagingPlan(paths, () => false);
    return stagingPlan(paths, (folder) => !existing.has(folder));
  }

  /**
   * Stored ahead but not committed: a sync that failed before its commit, or whose pull
   * request already had its changes. The run still ends cleanly.
   */
  async abandon(): Promise<void> {
    await this.ahead?.abandon();
    this.ahead = undefined;
  }
}

/** `git mktree -z` lines for these entries, made as git reads them, some 64 KB at a time (a form folder of 100,000 nodes is 8 MB of them). */
function* mktreeInput(entries: ReadonlyMap<string, TreeEntry>): Generator<string> {
  let chunk = '';
  for (const [name, entry] of entries) {
    chunk += `${entry.mode} ${entry.type} ${entry.id}\t${name}\0`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** Every path a commit writes or removes, without copying them into one array (a first sync of 100,000 nodes writes 700,000). */
function* changedPaths(input: CommitInput): Generator<string> {
  yield* input.writes.keys();
  yield* input.deletes;
}
