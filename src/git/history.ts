import { gitFailure, gitText, type GitOptions } from './git.ts';
import { isBridgeMessage, readNodeLine } from './node-messages.ts';

/** Which node, as `lynq history` names it. */
export type NodeRef = { hub: string; form: string; uid: string };

export type HistoryEntry = {
  commit: string;
  /** Author date, ISO 8601. */
  date: string;
  author: string;
  email: string;
  subject: string;
  /** added / updated / removed from the bridge's lines and trailers; `edited` for a commit the bridge did not make. */
  change: string;
  /** Why, from the bridge's message (or pull-request body) line for this node. */
  why: string;
  /** The pull request that brought the change to the target branch, when one did. */
  pullRequest?: number;
  /** With `patch`: the diff of this commit, limited to the node's paths. */
  patch?: string;
};

const RECORD = '\x1e';
const FIELD = '\x1f';
const FORMAT = `${RECORD}%H${FIELD}%aI${FIELD}%an${FIELD}%ae${FIELD}%P${FIELD}%B${FIELD}`;

/**
 * Every commit reachable from `head` that touched one of `paths`, newest first, with
 * why (read from the bridge's own message lines, pull-request table rows or trailers)
 * and the pull request that brought it in (GitHub's merge subject "Merge pull request
 * #N from …" on the first-parent line, or a squash subject "… (#N)"). Reads a bare
 * repository with two git commands, run together: `git log` of the node's paths, and
 * the commit graph (ids, parents, subjects) to tell which merge brought what in.
 */
export async function nodeHistory(
  dir: string,
  options: GitOptions & { head: string; paths: readonly string[]; node: NodeRef; patch: boolean; limit?: number },
): Promise<HistoryEntry[]> {
  const args = [
    'log',
    `--format=${FORMAT}`,
    '--no-color',
    ...(options.patch ? ['--patch', '--no-ext-diff'] : []),
    ...(options.limit ? [`--max-count=${options.limit}`] : []),
    options.head,
    '--',
    ...options.paths,
  ];
  const [logged, graph] = await Promise.all([
    gitText(dir, args, options),
    gitText(dir, ['log', '--format=%H%x1f%P%x1f%s', options.head], options),
  ]);
  if (logged.code !== 0) throw gitFailure(`reading the history of ${options.paths.join(', ')}`, logged);
  if (graph.code !== 0) throw gitFailure('reading the commit graph', graph);
  const commits = parseLog(logged.stdout.toString('utf8'));
  const broughtBy = mergesOf(graph.stdout.toString('utf8'), options.head);

  const entries: HistoryEntry[] = [];
  for (const commit of commits) {
    const subject = commit.message.split('\n')[0] ?? '';
    const described = describe(commit.message, options.node);
    const entry: HistoryEntry = {
      commit: commit.id,
      date: commit.date,
      author: commit.author,
      email: commit.email,
      subject,
      change: described.change,
      why: described.why,
    };
    // A merge shows up when it changed the node beyond either side (both sides touched it).
    let pullRequest = commit.parents.length > 1 ? mergeNumber(subject) : squashNumber(subject);
    if (commit.parents.length > 1 && entry.change === 'edited') {
      entry.change = 'merged';
      entry.why = subject;
    }
    if (pullRequest === undefined) pullRequest = broughtBy.get(commit.id);
    if (pullRequest !== undefined) entry.pullRequest = pullRequest;
    if (options.patch) entry.patch = commit.patch;
    entries.push(entry);
  }
  return entries;
}

type LoggedCommit = {
  id: string;
  date: string;
  author: string;
  email: string;
  parents: string[];
  message: string;
  patch: string;
};

function parseLog(text: string): LoggedCommit[] {
  const commits: LoggedCommit[] = [];
  for (const record of text.split(RECORD)) {
    if (record === '') continue;
    const [id = '', date = '', author = '', email = '', parents = '', message = '', patch = ''] = record.split(FIELD);
    commits.push({
      id,
      date,
      author,
      email,
      parents: parents.split(' ').filter(Boolean),
      message: message.trimEnd(),
      patch: patch.replace(/^\n+/, ''),
    });
  }
  return commits;
}

/** What the bridge said about this node in a message (node-messages.ts); a commit without the bridge's hub trailer is someone else's edit. */
export function describe(message: string, node: NodeRef): { change: string; why: string } {
  const said = readNodeLine(message, `${node.form}/${node.uid}`);
  if (said !== undefined) return said;
  if (isBridgeMessage(message, node.hub)) return { change: 'changed', why: '' };
  return { change: 'edited', why: `not a bridge commit: ${message.split('\n')[0] ?? ''}` };
}

/** GitHub's squash subject: `lynq(customers): 1 updated (#12)`. */
function squashNumber(subject: string): number | undefined {
  const match = /\(#(\d+)\)$/.exec(subject);
  return match ? Number(match[1]) : undefined;
}

/**
 * For each commit that came into `head` through a GitHub pull-request merge, that pull
 * request's number. Walks the first-parent line from the oldest commit: a merge owns
 * every commit reachable from its other parents that no older first-parent commit
 * (or older merge) already owns. One pass over the graph, in memory.
 */
function mergesOf(graph: string, head: string): Map<string, number> {
  const parents = new Map<string, string[]>();
  const subjects = new Map<string, string>();
  for (const line of graph.split('\n')) {
    if (line === '') continue;
    const [id = '', parentList = '', subject = ''] = line.split('\x1f');
    parents.set(id, parentList.split(' ').filter(Boolean));
    subjects.set(id, subject);
  }
  const line: string[] = [];
  for (let at: string | undefined = head; at !== undefined && parents.has(at); at = parents.get(at)![0]) line.push(at);
  const owned = new Set<string>(line);
  const numbers = new Map<string, number>();
  for (const merge of line.reverse()) {
    const [, ...others] = parents.get(merge)!;
    if (others.length === 0) continue;
    const number = mergeNumber(subjects.get(merge) ?? '');
    const stack = [...others];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (owned.has(id)) continue;
      owned.add(id);
      if (number !== undefined) numbers.set(id, number);
      stack.push(...(parents.get(id) ?? []));
    }
  }
  return numbers;
}

/** GitHub's merge subject: `Merge pull request #12 from acme/lynq/customers`. */
function mergeNumber(subject: string): number | undefined {
  const match = /^Merge pull request #(\d+) from /.exec(subject);
  return match ? Number(match[1]) : undefined;
}
