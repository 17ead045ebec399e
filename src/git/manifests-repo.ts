import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRemoteUrl, urlCredentialProblem } from '../config/repo-url.ts';
import { GitError, messageOf } from '../errors.ts';
import type { TreeListing } from '../plan/types.ts';
import { cloneId, prepareCacheClone } from './cache-clone.ts';
import type { CloneLock } from './clone-lock.ts';
import { saysNoSpace } from './fs-failure.ts';
import type { CommitInput } from './fast-import.ts';
import { gitFailure, gitText, runGit } from './git.ts';
import type { HistoryEntry } from './history.ts';
import type { NodeCommitWalk } from './node-commits.ts';
import { CommitBuilder } from './repo-commit.ts';
import { CloneGit, CloneTurns } from './repo-git.ts';
import { RepoReads } from './repo-reads.ts';
import { type EarlyHead, RemoteBranches } from './repo-remote.ts';
import type { CommitInfo, HistoryQuery, PushOutcome, RepoOptions } from './repo-types.ts';

export type { Author, CommitInput } from './fast-import.ts';
export type { CommitInfo, HistoryQuery, PushOutcome, RepoOptions } from './repo-types.ts';

/**
 * The manifests repository as the sync sees it. One implementation talks to a bare
 * cache clone; the sync core sees only these verbs.
 */
export interface ManifestsRepo {
  /** Bring the branch up to date; its head commit, or undefined when the branch does not exist yet. */
  fetch(branch: string): Promise<string | undefined>;
  /** Every file under `prefix` (or under each of several) at `commit` (path → blob id); empty for no commit. */
  listTree(commit: string | undefined, prefix: string | readonly string[]): Promise<TreeListing>;
  /**
   * The folders two levels under `prefix` at `commit` (`<form>/<uid>` → tree id): a hub's
   * node folders, without their files. Empty for no commit.
   */
  listNodeFolders(commit: string | undefined, prefix: string): Promise<Map<string, string>>;
  /** The object id of each path at `commit` (a folder's tree id), undefined where there is none; all undefined for no commit. */
  objectIds(commit: string | undefined, paths: readonly string[]): Promise<Array<string | undefined>>;
  readBlobs(ids: readonly string[]): Promise<Map<string, string>>;
  /**
   * Start storing files (path → content) that the next commit will hold, in the background (git
   * compresses them on another core while the sync goes on rendering); resolves when git
   * is ready for more. Only for speed: commit() stores whatever was not stored ahead.
   */
  storeAhead(files: Iterable<readonly [string, string]>): Promise<void>;
  /** Build a commit from parent + changes without a work tree; returns its id. */
  commit(input: CommitInput): Promise<string>;
  /** Push `commit` as the new head of `branch`; `moved` when the remote head is no longer `expected`. */
  push(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome>;
  /** Delete `branch` on the remote, only if its head is still `expected`; `moved` otherwise. */
  deleteBranch(branch: string, expected: string): Promise<PushOutcome>;
  /** A commit's tree, parents, committer and message (it must have been fetched). */
  readCommit(commit: string): Promise<CommitInfo>;
  /** Every commit reachable from `head` that touched the node's paths, newest first, with why and its pull request. */
  history(head: string, query: HistoryQuery): Promise<HistoryEntry[]>;
  /** The last commit of each node folder under `prefix` at `head` (or in a range `a..b`), and every commit of `prefix` it lists (node-commits.ts). */
  nodeCommits(head: string, prefix: string): Promise<NodeCommitWalk>;
  /** For each revision, the commits under `prefix` it contains (undefined: the clone lacks it); `known`: sets listed already (node-commits.ts). */
  commitsContaining(
    revisions: Iterable<string>,
    prefix: string,
    known?: ReadonlyMap<string, Set<string>>,
  ): Promise<Map<string, Set<string> | undefined>>;
  /** Whether `ancestor` is `descendant` or one of its ancestors (false too when the clone lacks either). */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
  /** The head of `branch` as the clone last fetched it, without asking the remote; undefined when it has none. */
  fetchedHead(branch: string): Promise<string | undefined>;
  /** Remove anything temporary (an ephemeral clone for dry runs). */
  close(): Promise<void>;
}

/**
 * Open the cache clone for a repository, creating it on first use (cache-clone.ts checks
 * and heals it first). Every change to the clone (a fetch, building a commit from the
 * first file stored ahead to the commit, a push) holds the clone's lock, so two syncs or
 * two hubs sharing the clone take turns change by change; reads need no lock.
 */
export async function openManifestsRepo(options: RepoOptions): Promise<ManifestsRepo> {
  const url = isRemoteUrl(options.url) ? options.url : path.resolve(options.url);
  // Checked at load and on the command line too; here so that no caller writes them to the clone's config.
  const problem = urlCredentialProblem(url);
  if (problem !== undefined) throw new GitError(`the repository URL ${problem}`);
  let dir: string;
  let temporary: string | undefined;
  let lock: CloneLock | undefined;
  let relock: (() => Promise<CloneLock>) | undefined;
  let refs: ReadonlyMap<string, string> = new Map();
  let early = options.branch === undefined ? undefined : askEarly(url, options.branch, options);
  if (options.cacheDir === undefined) {
    temporary = await mkdtemp(path.join(os.tmpdir(), 'lynq-repo-'));
    dir = temporary;
  } else {
    // Fed on stdin or printing nothing: the runner; text: simple-git (git.ts says why).
    const run = (at: string, args: readonly string[], input?: string) =>
      input === undefined && TEXT_COMMANDS.has(args[0]!)
        ? gitText(at, args, options)
        : runGit(at, args, { ...options, input: input === undefined ? undefined : [input] });
    ({ dir, lock, relock, refs } = await prepareCacheClone(options.cacheDir, url, run, {
      logger: options.logger,
      waitMs: options.lockWaitMs,
      signal: options.signal,
    }));
    // Another run had the clone meanwhile (maybe pushing to this branch): the head asked early may be old.
    if (lock.waited) early = undefined;
  }
  try {
    // Not cancelled by the run's signal: killed half-way, git init leaves a folder that is neither empty
    // (a clone not made yet) nor a whole repository (the next open sets it aside as damaged); it takes milliseconds.
    if (!existsSync(path.join(dir, 'HEAD'))) {
      const init = await gitText(dir, ['init', '--bare'], { ...options, signal: undefined });
      if (init.code !== 0) throw gitFailure('git init --bare', init);
    }
    // The clone is named after its URL, so its origin is already that URL but on the first open: then set it,
    // and make it anew only when that fails (no origin yet, or several URLs, which set-url refuses). All print
    // nothing: the runner (simple-git waits 50 ms more after a silent command).
    if (!originIs(dir, url)) {
      const set = await runGit(dir, ['remote', 'set-url', 'origin', url], options);
      if (set.code !== 0) {
        await runGit(dir, ['remote', 'remove', 'origin'], options);
        if ((await runGit(dir, ['remote', 'add', 'origin', url], options)).code !== 0)
          throw gitFailure('git remote set-url origin', set);
      }
    }
  } catch (cause) {
    await lock?.release();
    const reason = saysNoSpace(messageOf(cause)) ? 'no space left on device' : messageOf(cause).trim().split('\n')[0];
    throw new GitError(`cannot prepare the cache clone in ${dir}: ${reason}`, {}, { cause });
  }
  await lock?.release();
  return new CachedRepo(new CloneGit(dir, url, options, temporary), relock, new Set(refs.values()), { head: early });
}

/**
 * `git ls-remote` of the URL itself, in the clone a run before made (its config is ours,
 * and the check of the clone only reads it meanwhile); none on a first run or without a
 * cache, which fetch everything anyway. Only a head start: when it fails for any reason,
 * fetch() asks again as it always did, and reports what that says.
 */
function askEarly(url: string, branch: string, options: RepoOptions): EarlyHead | undefined {
  if (options.cacheDir === undefined) return undefined;
  const clone = path.join(options.cacheDir, 'repos', `${cloneId(url)}.git`);
  if (!existsSync(path.join(clone, 'HEAD'))) return undefined;
  const result = runGit(clone, ['ls-remote', '--heads', url, `refs/heads/${branch}`], options).catch(() => undefined);
  return { branch, result };
}

/**
 * Whether the clone's config already gives origin exactly this one URL, as git writes it
 * (a tab, `url = `, the value unquoted). Anything else, a quoted value included, is
 * answered no, and the URL is set again: this only saves a git process per open.
 */
function originIs(dir: string, url: string): boolean {
  let config: string;
  try {
    config = readFileSync(path.join(dir, 'config'), 'utf8');
  } catch {
    return false;
  }
  const start = config.indexOf('[remote "origin"]\n');
  if (start < 0) return false;
  const end = config.indexOf('\n[', start + 1);
  const urls = config
    .slice(start, end < 0 ? undefined : end + 1)
    .split('\n')
    .filter((line) => /^\s*url\s*=/.test(line));
  return urls.length === 1 && urls[0] === `\turl = ${url}`;
}

/** Local commands that always print text: run through simple-git (gitText); the rest through the runner. */
const TEXT_COMMANDS = new Set(['rev-parse', 'log']);

/**
 * The repository over a cache clone (or a dry run's temporary one), its jobs apart: reads
 * (repo-reads.ts), the commit (repo-commit.ts) and the remote (repo-remote.ts), over one
 * clone's git (repo-git.ts) and its lock.
 */
class CachedRepo implements ManifestsRepo {
  private readonly reads: RepoReads;
  private readonly builder: CommitBuilder;
  private readonly remote: RemoteBranches;
  private readonly turns: CloneTurns;

  constructor(
    private readonly git: CloneGit,
    relock: (() => Promise<CloneLock>) | undefined,
    held: Set<string>,
    early: { head?: EarlyHead },
  ) {
    this.turns = new CloneTurns(relock);
    this.reads = new RepoReads(git);
    this.builder = new CommitBuilder(git, this.turns, held);
    this.remote = new RemoteBranches(git, this.turns, held, early);
  }

  fetch(branch: string): Promise<string | undefined> {
    return this.remote.fetch(branch);
  }

  listTree(commit: string | undefined, prefix: string | readonly string[]): Promise<TreeListing> {
    return this.reads.listTree(commit, prefix);
  }

  listNodeFolders(commit: string | undefined, prefix: string): Promise<Map<string, string>> {
    return this.reads.listNodeFolders(commit, prefix);
  }

  objectIds(commit: string | undefined, paths: readonly string[]): Promise<Array<string | undefined>> {
    return this.reads.objectIds(commit, paths);
  }

  readBlobs(ids: readonly string[]): Promise<Map<string, string>> {
    return this.reads.readBlobs(ids);
  }

  storeAhead(files: Iterable<readonly [string, string]>): Promise<void> {
    return this.builder.storeAhead(files);
  }

  commit(input: CommitInput): Promise<string> {
    return this.builder.commit(input);
  }

  push(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome> {
    return this.remote.push(commit, branch, expected);
  }

  deleteBranch(branch: string, expected: string): Promise<PushOutcome> {
    return this.remote.deleteBranch(branch, expected);
  }

  readCommit(commit: string): Promise<CommitInfo> {
    return this.reads.readCommit(commit);
  }

  history(head: string, query: HistoryQuery): Promise<HistoryEntry[]> {
    return this.reads.history(head, query);
  }

  nodeCommits(head: string, prefix: string): Promise<NodeCommitWalk> {
    return this.reads.nodeCommits(head, prefix);
  }

  commitsContaining(
    revisions: Iterable<string>,
    prefix: string,
    known?: ReadonlyMap<string, Set<string>>,
  ): Promise<Map<string, Set<string> | undefined>> {
    return this.reads.commitsContaining(revisions, prefix, known);
  }

  isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return this.reads.isAncestor(ancestor, descendant);
  }

  fetchedHead(branch: string): Promise<string | undefined> {
    return this.reads.fetchedHead(branch);
  }

  async close(): Promise<void> {
    await this.builder.abandon();
    await this.turns.endBuilding();
    if (this.git.temporary !== undefined) await rm(this.git.temporary, { recursive: true, force: true });
  }
}

export { parseCommit } from './repo-reads.ts';
