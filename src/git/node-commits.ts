import { gitFailure, type RunResult } from './git.ts';

/** Runs a read-only git command in the cache clone (ManifestsRepo.git). */
export type GitRunner = (args: readonly string[]) => Promise<RunResult>;

export type NodeCommit = {
  commit: string;
  /** Committer time, seconds since the epoch: when the change reached the branch. */
  time: number;
  /** Author time, seconds since the epoch: when the change was rendered (the sync that wrote it); undefined where not read. */
  authorTime?: number;
  /** The pull request it came through, from GitHub's squash subject `… (#12)` or merge subject `Merge pull request #12 from …`. */
  pullRequest: number | undefined;
  /** For a merge commit: the commit it merged (its second parent: a pull request's head), whose author time is `authorTime`. */
  merged?: string;
};

/** Each node folder's last commit (`<form>/<uid>` → commit), and every commit the walk listed. */
export type NodeCommitWalk = { last: Map<string, NodeCommit>; all: Set<string> };

/**
 * The last commit that changed each node folder under `<prefix>/`, from ONE `git log` walk
 * over the hub's folder, newest first: at 10,000 nodes that is one git process instead of
 * 10,000. `head` may be a range (`a..b`: the commits a read carried forward adds). Every
 * commit listed is what `commitsContaining` would list for `head` (`--full-history` over
 * the same path, merges included), so an engine that reports the head itself needs no git
 * process of its own.
 */
export async function walkNodeCommits(git: GitRunner, head: string, prefix: string): Promise<NodeCommitWalk> {
  // A merge lists what it changed against its first parent: a pull request merged with a merge commit reached the
  // branch at the merge, so the merge is the node's last commit on it (its time the merge's), not the commit it merged.
  const result = await git([
    'log',
    '--full-history',
    '--no-renames',
    '--diff-merges=first-parent',
    '--format=%x1e%H%x1f%ct%x1f%at%x1f%P%x1f%s',
    '--name-only',
    head,
    '--',
    `${prefix}/`,
  ]);
  if (result.code !== 0) throw gitFailure(`reading the commits of ${prefix}`, result);
  const found = new Map<string, NodeCommit>();
  const all = new Set<string>();
  const authorTimes = new Map<string, number>();
  const start = prefix.length + 1;
  for (const record of result.stdout.toString('utf8').split('\x1e')) {
    if (record === '') continue;
    const newline = record.indexOf('\n');
    const [commit = '', time = '0', authorTime = time, parents = '', subject = ''] = record
      .slice(0, newline === -1 ? undefined : newline)
      .split('\x1f');
    const merged = parents.split(' ')[1];
    const entry: NodeCommit = {
      commit,
      time: Number(time),
      authorTime: Number(authorTime),
      pullRequest: pullRequestOf(subject),
      ...(merged === undefined ? {} : { merged }),
    };
    all.add(commit);
    authorTimes.set(commit, entry.authorTime!);
    if (newline === -1) continue;
    for (const file of record.slice(newline + 1).split('\n')) {
      if (!file.startsWith(`${prefix}/`)) continue;
      const slash = file.indexOf('/', start);
      const second = slash === -1 ? -1 : file.indexOf('/', slash + 1);
      if (second === -1) continue;
      const key = file.slice(start, second);
      if (!found.has(key)) found.set(key, entry);
    }
  }
  // A merge's change was seen when the commit it merged was written (the bridge's, when it last rebuilt the pull
  // request's branch), listed later in the walk: the wait for the review is then between seen and committed.
  for (const entry of new Set(found.values())) {
    const seen = entry.merged === undefined ? undefined : authorTimes.get(entry.merged);
    if (seen !== undefined) entry.authorTime = seen;
  }
  return { last: found, all };
}

/** The pull request number a squash (`… (#12)`) or merge (`Merge pull request #12 from …`) subject names, as GitHub writes them. */
function pullRequestOf(subject: string): number | undefined {
  const number = /\(#(\d+)\)$/.exec(subject)?.[1] ?? /^Merge pull request #(\d+) /.exec(subject)?.[1];
  return number === undefined ? undefined : Number(number);
}

/**
 * For each engine revision (a commit), the set of commits under `prefix` it contains, so
 * "did the engine apply this node's last commit" is a set lookup per node instead of one
 * `git merge-base --is-ancestor` per node. One `git rev-list` per distinct revision (a
 * handful: most engine objects report the same head). A revision the clone does not
 * have maps to undefined: nothing is known to be contained in it; that is asked of git
 * only when rev-list fails, so the usual case is one git process per revision. `known`:
 * revisions whose commits were listed already (the commit walk of the head).
 */
export async function commitsContaining(
  git: GitRunner,
  revisions: Iterable<string>,
  prefix: string,
  known: ReadonlyMap<string, Set<string>> = new Map(),
): Promise<Map<string, Set<string> | undefined>> {
  const out = new Map<string, Set<string> | undefined>();
  for (const revision of new Set(revisions)) {
    // Listed already (walkNodeCommits of this revision): the same set, without asking git again.
    const walked = known.get(revision);
    if (walked !== undefined) {
      out.set(revision, walked);
      continue;
    }
    const listed = await git(['rev-list', '--full-history', revision, '--', `${prefix}/`]);
    if (listed.code !== 0) {
      const known = await git(['cat-file', '-e', `${revision}^{commit}`]);
      if (known.code !== 0) {
        out.set(revision, undefined);
        continue;
      }
      throw gitFailure(`listing the commits of ${prefix} in ${revision}`, listed);
    }
    out.set(revision, new Set(listed.stdout.toString('utf8').split('\n').filter(Boolean)));
  }
  return out;
}
