import type { TreeListing } from '../plan/types.ts';
import { nodeHistory, type HistoryEntry } from './history.ts';
import type { CommitInfo, HistoryQuery } from './repo-types.ts';
import { commitsContaining, type NodeCommitWalk, walkNodeCommits } from './node-commits.ts';
import type { CloneGit } from './repo-git.ts';

/** What the repository's readers ask of the clone: trees, blobs, commits, node history and ancestry. Reads take no lock. */
export class RepoReads {
  constructor(private readonly git: CloneGit) {}

  async listTree(commit: string | undefined, prefix: string | readonly string[]): Promise<TreeListing> {
    const listing: TreeListing = new Map();
    if (commit === undefined) return listing;
    const prefixes = typeof prefix === 'string' ? [prefix] : prefix;
    // The runner, not simple-git: every sync lists, and simple-git's per-command overhead
    // made this listing several times slower in the bench's no-op sync.
    for (const [path, entry] of await this.git.lsTree(commit, ['-r'], prefixes))
      if (entry.type === 'blob') listing.set(path, entry.id);
    return listing;
  }

  async objectIds(commit: string | undefined, paths: readonly string[]): Promise<Array<string | undefined>> {
    if (commit === undefined || paths.length === 0) return paths.map(() => undefined);
    const result = await this.git.run(
      ['cat-file', '--batch-check=%(objectname)'],
      [paths.map((path) => `${commit}:${path}\n`).join('')],
    );
    if (result.code !== 0) throw await this.git.localFailure(`reading ${paths.join(', ')} at ${commit}`, result);
    const lines = result.stdout.toString('utf8').split('\n');
    return paths.map((_, index) => (lines[index]!.endsWith(' missing') ? undefined : lines[index]));
  }

  async listNodeFolders(commit: string | undefined, prefix: string): Promise<Map<string, string>> {
    const folders = new Map<string, string>();
    if (commit === undefined) return folders;
    const forms = [...(await this.git.lsTree(commit, [], [`${prefix}/`]))]
      .filter(([, entry]) => entry.type === 'tree')
      .map(([path]) => `${path}/`);
    if (forms.length === 0) return folders;
    for (const [path, entry] of await this.git.lsTree(commit, [], forms)) {
      if (entry.type === 'tree') folders.set(path.slice(prefix.length + 1), entry.id);
    }
    return folders;
  }

  async readBlobs(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const blobs = new Map<string, string>();
    if (unique.length === 0) return blobs;
    const result = await this.git.run(['cat-file', '--batch', '--buffer'], [`${unique.join('\n')}\n`]);
    if (result.code !== 0) throw await this.git.localFailure('reading files from the cache clone', result);
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

  async readCommit(commit: string): Promise<CommitInfo> {
    const result = await this.git.text(['cat-file', 'commit', commit]);
    if (result.code !== 0) throw this.git.failure(`reading commit ${commit}`, result);
    return parseCommit(commit, result.stdout.toString('utf8'));
  }

  history(head: string, query: HistoryQuery): Promise<HistoryEntry[]> {
    return nodeHistory(this.git.dir, { ...this.git.options, head, ...query });
  }

  nodeCommits(head: string, prefix: string): Promise<NodeCommitWalk> {
    return walkNodeCommits((args) => this.git.run(args), head, prefix);
  }

  commitsContaining(
    revisions: Iterable<string>,
    prefix: string,
    known?: ReadonlyMap<string, Set<string>>,
  ): Promise<Map<string, Set<string> | undefined>> {
    return commitsContaining((args) => this.git.run(args), revisions, prefix, known);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.git.run(['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
  }

  async fetchedHead(branch: string): Promise<string | undefined> {
    const result = await this.git.run(['rev-parse', '--quiet', '--verify', `refs/remotes/origin/${branch}^{commit}`]);
    const id = result.stdout.toString('utf8').trim();
    return result.code === 0 && /^[0-9a-f]{40,64}$/.test(id) ? id : undefined;
  }
}

/** A raw commit object: headers up to the first empty line, then the message. */
export function parseCommit(id: string, raw: string): CommitInfo {
  const split = raw.indexOf('\n\n');
  const headers = (split < 0 ? raw : raw.slice(0, split)).split('\n');
  const info: CommitInfo = {
    id,
    tree: '',
    parents: [],
    committer: { name: '', email: '' },
    message: split < 0 ? '' : raw.slice(split + 2),
  };
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
