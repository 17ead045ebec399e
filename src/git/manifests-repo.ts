import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRemoteUrl, urlCredentialProblem } from '../config/repo-url.ts';
import { GitError, messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TreeListing } from '../plan/types.ts';
import { cloneId, markDamaged, prepareCacheClone } from './cache-clone.ts';
import type { CloneLock } from './clone-lock.ts';
import { saysNoSpace } from './fs-failure.ts';
import { gcMightRun } from './gc-auto.ts';
import { STAGING_ROOT, stagingCandidates, stagingPlan, type StagingPlan } from './fast-import-staging.ts';
import { FastImport, type CommitInput } from './fast-import.ts';
import { gitFailure, gitText, runGit, startGit, type GitOptions, type RunResult } from './git.ts';
import { inWideFolder, planWideFolders, type TreeEntry, type WideGit, type WidePlan, wideFolders } from './wide-folders.ts';
import { nodeHistory, type HistoryEntry, type NodeRef } from './history.ts';

export type { Author, CommitInput } from './fast-import.ts';

export type PushOutcome = 'pushed' | 'moved';

export type HistoryQuery = { paths: readonly string[]; node: NodeRef; patch: boolean; limit?: number };

export type CommitInfo = {
  id: string;
  tree: string;
  parents: string[];
  committer: { name: string; email: string };
  message: string;
};

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
  /** A read-only git command in the clone (health read-back: the commit walk and ancestry checks). */
  git(args: readonly string[]): Promise<RunResult>;
  /** Remove anything temporary (an ephemeral clone for dry runs). */
  close(): Promise<void>;
}

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
      input === undefined && TEXT_COMMANDS.has(args[0]!) ? gitText(at, args, options) : runGit(at, args, { ...options, input: input === undefined ? undefined : [input] });
    ({ dir, lock, relock, refs } = await prepareCacheClone(options.cacheDir, url, run, { logger: options.logger, waitMs: options.lockWaitMs, signal: options.signal }));
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
        if ((await runGit(dir, ['remote', 'add', 'origin', url], options)).code !== 0) throw gitFailure('git remote set-url origin', set);
      }
    }
  } catch (cause) {
    await lock?.release();
    const reason = saysNoSpace(messageOf(cause)) ? 'no space left on device' : messageOf(cause).trim().split('\n')[0];
    throw new GitError(`cannot prepare the cache clone in ${dir}: ${reason}`, {}, { cause });
  }
  await lock?.release();
  return new CachedRepo(dir, url, options, temporary, relock, new Set(refs.values()), { head: early });
}

/** A remote head asked before the clone is ready (RepoOptions.branch). */
type EarlyHead = { branch: string; result: Promise<RunResult | undefined> };

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

/** Paths per `git ls-tree` command: well under any command-line limit. */
const LS_TREE_PREFIXES = 500;

/** Keeps the staging refs of commits built at the same time in one process apart. */
let stagingCounter = 0;

class CachedRepo implements ManifestsRepo {
  /** The fast-import run that storeAhead() feeds, until the next commit() ends it. */
  private ahead: FastImport | undefined;

  constructor(
    private readonly dir: string,
    private readonly url: string,
    private readonly options: RepoOptions,
    private readonly temporary: string | undefined,
    private readonly relock: (() => Promise<CloneLock>) | undefined,
    /**
     * Commits the clone is known to hold (its refs' as its open found them, then each
     * commit fetched or built here), so a fetch can tell it has the remote head without
     * asking git: the open checked every ref's commit, and gc prunes only what nothing
     * reaches, weeks later.
     */
    private readonly held: Set<string>,
    /**
     * The remote head asked while the clone was opened, for the first fetch of that branch
     * only. In a box that is emptied, not a field that is reassigned: a wrapper made with
     * Object.create(repo) would set its own field and leave this one to be used again.
     */
    private readonly early: { head?: EarlyHead },
  ) {}

  /** The lock while a commit is being built (from the first storeAhead to the end of commit). */
  private building: Promise<CloneLock | undefined> | undefined;

  /** Run `change` holding the clone's lock (already held while a commit is being built). */
  private async locked<T>(change: () => Promise<T>): Promise<T> {
    if (this.building !== undefined || this.relock === undefined) return change();
    const lock = await this.relock();
    try {
      return await change();
    } finally {
      await lock.release();
    }
  }

  private startBuilding(): void {
    this.building ??= this.relock === undefined ? Promise.resolve(undefined) : this.relock();
  }

  private async endBuilding(): Promise<void> {
    const building = this.building;
    this.building = undefined;
    await (await building?.catch(() => undefined))?.release();
  }

  async fetch(branch: string): Promise<string | undefined> {
    const head = await this.remoteHead(branch);
    if (head === undefined) return undefined;
    // Already have it (no-op syncs, a read-back after a push): skip the fetch.
    if (!this.held.has(head) && (await this.run(['cat-file', '-e', `${head}^{commit}`])).code !== 0) {
      const fetched = await this.locked(() => this.run(['fetch', '--no-tags', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]));
      if (fetched.code !== 0) throw this.failure(`fetching ${branch} from ${this.url}`, fetched);
    }
    this.held.add(head);
    return head;
  }

  private async remoteHead(branch: string): Promise<string | undefined> {
    const asked = this.early.head;
    this.early.head = undefined;
    const early = asked?.branch === branch ? await asked.result : undefined;
    const result = early?.code === 0 ? early : await this.run(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`]);
    if (result.code !== 0) throw this.failure(`reading ${this.url}`, result);
    const line = result.stdout
      .toString('utf8')
      .split('\n')
      .find((item) => item.endsWith(`\trefs/heads/${branch}`));
    return line?.split('\t')[0];
  }

  async listTree(commit: string | undefined, prefix: string | readonly string[]): Promise<TreeListing> {
    const listing: TreeListing = new Map();
    if (commit === undefined) return listing;
    const prefixes = typeof prefix === 'string' ? [prefix] : prefix;
    // The runner, not simple-git: every sync lists, and simple-git's per-command overhead
    // made this listing several times slower in the bench's no-op sync.
    for (const [path, entry] of await this.lsTree(commit, ['-r'], prefixes)) if (entry.type === 'blob') listing.set(path, entry.id);
    return listing;
  }

  async objectIds(commit: string | undefined, paths: readonly string[]): Promise<Array<string | undefined>> {
    if (commit === undefined || paths.length === 0) return paths.map(() => undefined);
    const result = await this.run(['cat-file', '--batch-check=%(objectname)'], [paths.map((path) => `${commit}:${path}\n`).join('')]);
    if (result.code !== 0) throw await this.localFailure(`reading ${paths.join(', ')} at ${commit}`, result);
    const lines = result.stdout.toString('utf8').split('\n');
    return paths.map((_, index) => (lines[index]!.endsWith(' missing') ? undefined : lines[index]));
  }

  async listNodeFolders(commit: string | undefined, prefix: string): Promise<Map<string, string>> {
    const folders = new Map<string, string>();
    if (commit === undefined) return folders;
    const forms = [...(await this.lsTree(commit, [], [`${prefix}/`]))].filter(([, entry]) => entry.type === 'tree').map(([path]) => `${path}/`);
    if (forms.length === 0) return folders;
    for (const [path, entry] of await this.lsTree(commit, [], forms)) {
      if (entry.type === 'tree') folders.set(path.slice(prefix.length + 1), entry.id);
    }
    return folders;
  }

  /** `git ls-tree` of `prefixes` at `commit` (path → mode, type and id), a few hundred prefixes per command. */
  private async lsTree(commit: string, options: readonly string[], prefixes: readonly string[]): Promise<Map<string, TreeEntry>> {
    const entries = new Map<string, TreeEntry>();
    for (let at = 0; at < prefixes.length; at += LS_TREE_PREFIXES) {
      const some = prefixes.slice(at, at + LS_TREE_PREFIXES);
      const result = await this.run(['ls-tree', ...options, '-z', '--full-tree', commit, '--', ...some]);
      if (result.code !== 0) throw await this.localFailure(`listing ${some.length === 1 ? some[0] : `${some[0]} and ${some.length - 1} more`} at ${commit}`, result);
      for (const entry of result.stdout.toString('utf8').split('\0')) {
        if (entry === '') continue;
        const tab = entry.indexOf('\t');
        const [mode, type, id] = entry.slice(0, tab).split(' ');
        if (mode !== undefined && type !== undefined && id !== undefined) entries.set(entry.slice(tab + 1), { mode, type, id });
      }
    }
    return entries;
  }

  async readBlobs(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const blobs = new Map<string, string>();
    if (unique.length === 0) return blobs;
    const result = await this.run(['cat-file', '--batch', '--buffer'], [`${unique.join('\n')}\n`]);
    if (result.code !== 0) throw await this.localFailure('reading files from the cache clone', result);
    const out = result.stdout;
    let at = 0;
    for (const id of unique) {
      const eol = out.indexOf(0x0a, at);
      const header = out.subarray(at, eol).toString('utf8').split(' ');
      at = eol + 1;
      if (header[1] === 'missing') continue;
      const size = Number(header[2]);
      blobs.set(id, out.subarray(at, at + size).toString('utf8'));
      at += size + 1;
    }
    return blobs;
  }

  async storeAhead(files: Iterable<readonly [string, string]>): Promise<void> {
    if (this.ahead === undefined) {
      // fast-import writes a temporary pack from now until the commit: the clone is ours until then.
      this.startBuilding();
      await this.building;
    }
    this.ahead ??= this.fastImport();
    return this.ahead.store(files);
  }

  async commit(input: CommitInput): Promise<string> {
    this.startBuilding();
    await this.building;
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
      if (imported.code !== 0) throw this.failure('building the commit (git fast-import)', imported);
      const commit = imported.stdout.toString('utf8').trim();
      if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) throw this.failure('reading the new commit', { stderr: `git fast-import said ${JSON.stringify(commit.slice(0, 100))} for its id` });
      if (wide !== undefined) await this.checkWideTrees(wide);
      await this.tidy();
      this.held.add(commit);
      return commit;
    } finally {
      await this.endBuilding();
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
    if (!gcMightRun(this.dir)) return;
    const result = await this.run(['-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet']);
    if (result.code !== 0) this.options.logger.warn({ err: result.stderr.trim() }, 'git gc --auto failed in the cache clone; the sync goes on');
  }

  private fastImport(): FastImport {
    return new FastImport(startGit(this.dir, ['fast-import', '--quiet', '--done', '--force'], this.options));
  }

  /** The wide folders this commit writes whole (wide-folders.ts), or undefined when there are none or they cannot be. */
  private async widePlan(input: CommitInput): Promise<WidePlan | undefined> {
    const folders = wideFolders(changedPaths(input));
    if (folders.length === 0) return undefined;
    const git: WideGit = {
      lsTree: (commit, recursive, prefixes) => this.lsTree(commit, recursive ? ['-r'] : [], prefixes),
      mktree: async (entries) => {
        const result = await this.run(['mktree', '-z', '--missing'], mktreeInput(entries));
        if (result.code !== 0) throw this.failure('writing a folder of the commit (git mktree)', result);
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
    const result = await this.run(['cat-file', '--batch-check'], [`${wide.expectedTrees.join('\n')}\n`]);
    const missing = result.stdout
      .toString('utf8')
      .split('\n')
      .filter((line) => line.endsWith(' missing'));
    if (result.code !== 0 || missing.length > 0)
      throw new GitError(`building the commit: ${missing.length} folder tree(s) were not written as computed (${missing[0] ?? result.stderr.trim()}); nothing was pushed`);
  }

  /** Which new folders fast-import should build apart (fast-import-staging.ts); the parent says which folders exist. */
  private async stagingPlan(parent: string | undefined, paths: readonly string[]): Promise<StagingPlan> {
    if (parent === undefined) return stagingPlan(paths, () => true);
    const asked = [STAGING_ROOT, ...stagingCandidates(paths)];
    const result = await this.run(['cat-file', '--batch-check=%(objectname) %(objecttype)'], [asked.map((folder) => `${parent}:${folder}\n`).join('')]);
    if (result.code !== 0) throw this.failure('reading the parent commit', result);
    const lines = result.stdout.toString('utf8').split('\n');
    const existing = new Set(asked.filter((_, index) => !lines[index]!.endsWith(' missing')));
    // A repository that has a folder of that name is left alone: nothing is staged.
    if (existing.has(STAGING_ROOT)) return stagingPlan(paths, () => false);
    return stagingPlan(paths, (folder) => !existing.has(folder));
  }

  push(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome> {
    return this.locked(() => this.pushLocked(commit, branch, expected));
  }

  private async pushLocked(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome> {
    // The lease makes "the remote is still at `expected`" part of the push: a branch that
    // was rewound or deleted since our fetch is a race too, never silently overwritten.
    const lease = `--force-with-lease=refs/heads/${branch}:${expected ?? ''}`;
    const result = await this.run(['push', '--porcelain', lease, 'origin', `${commit}:refs/heads/${branch}`]);
    if (result.code === 0) {
      await this.run(['update-ref', `refs/remotes/origin/${branch}`, commit]);
      return 'pushed';
    }
    return this.pushFailed(result, branch, expected, 'pushing to');
  }

  deleteBranch(branch: string, expected: string): Promise<PushOutcome> {
    return this.locked(() => this.deleteBranchLocked(branch, expected));
  }

  private async deleteBranchLocked(branch: string, expected: string): Promise<PushOutcome> {
    const result = await this.run(['push', '--porcelain', `--force-with-lease=refs/heads/${branch}:${expected}`, 'origin', `:refs/heads/${branch}`]);
    if (result.code === 0) {
      await this.run(['update-ref', '-d', `refs/remotes/origin/${branch}`]);
      return 'pushed';
    }
    return this.pushFailed(result, branch, expected, 'deleting');
  }

  /** Decide by state, not by git's wording: if the remote head moved, it was a race. */
  private async pushFailed(result: RunResult, branch: string, expected: string | undefined, action: string): Promise<PushOutcome> {
    const now = await this.remoteHead(branch);
    if (now !== expected) return 'moved';
    const status = result.stdout
      .toString('utf8')
      .split('\n')
      .find((line) => line.startsWith('!'));
    throw this.failure(`${action} ${branch} of ${this.url}`, { stderr: [status, result.stderr].filter(Boolean).join('\n') });
  }

  async readCommit(commit: string): Promise<CommitInfo> {
    const result = await this.text(['cat-file', 'commit', commit]);
    if (result.code !== 0) throw this.failure(`reading commit ${commit}`, result);
    return parseCommit(commit, result.stdout.toString('utf8'));
  }

  history(head: string, query: HistoryQuery): Promise<HistoryEntry[]> {
    return nodeHistory(this.dir, { ...this.options, head, ...query });
  }

  git(args: readonly string[]): Promise<RunResult> {
    return this.run(args);
  }

  async close(): Promise<void> {
    // Stored ahead but not committed: a sync that failed before its commit, or whose pull
    // request already had its changes. The run still ends cleanly.
    await this.ahead?.abandon();
    this.ahead = undefined;
    await this.endBuilding();
    if (this.temporary !== undefined) await rm(this.temporary, { recursive: true, force: true });
  }

  /** A failed git command as a GitError; a full disk is said in words, with the clone's path. */
  private failure(action: string, result: RunResult | { stderr: string }): GitError {
    if (saysNoSpace(result.stderr)) return gitFailure(`${action} (no space left on device in ${this.dir})`, result);
    return gitFailure(action, result);
  }

  /** A command that reads only the clone failed: the clone is suspect, and the next open starts it afresh. */
  private async localFailure(action: string, result: RunResult): Promise<GitError> {
    if (this.temporary === undefined && !saysNoSpace(result.stderr) && !result.aborted && result.timedOutAfterSeconds === undefined)
      await markDamaged(this.dir, `${action}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    return this.failure(action, result);
  }

  /**
   * The streaming runner (git.ts): for what is fed on stdin (cat-file --batch), talks to
   * the remote (ls-remote, fetch, push: their whole process group must die on a timeout)
   * or prints nothing (update-ref, cat-file -e), gc (its repack children), and ls-tree of
   * the hub's folder (measured slower through simple-git: see listTree).
   */
  private run(args: readonly string[], input?: Iterable<Buffer | string>) {
    return runGit(this.dir, args, { ...this.options, input });
  }

  /** A local command that prints text, through simple-git (git.ts: gitText). */
  private text(args: readonly string[]) {
    return gitText(this.dir, args, this.options);
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

/** A raw commit object: headers up to the first empty line, then the message. */
export function parseCommit(id: string, raw: string): CommitInfo {
  const split = raw.indexOf('\n\n');
  const headers = (split < 0 ? raw : raw.slice(0, split)).split('\n');
  const info: CommitInfo = { id, tree: '', parents: [], committer: { name: '', email: '' }, message: split < 0 ? '' : raw.slice(split + 2) };
  for (const line of headers) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'tree') info.tree = value;
    else if (key === 'parent') info.parents.push(value);
    else if (key === 'committer') {
      const match = /^(.*) <([^>]*)>/.exec(value);
      if (match) info.committer = { name: match[1]!, email: match[2]! };
    }
  }
  return info;
}
