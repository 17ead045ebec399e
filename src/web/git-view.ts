import type { Hub } from '../config/load.ts';
import { compareStrings } from '../render/canonical-yaml.ts';
import type { HistoryEntry } from '../git/history.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import { nodePaths } from '../plan/prefixes.ts';
import { checkRoot } from '../render/paths.ts';

export type NodeFolder = { form: string; uid: string };
export type GitFile = { path: string; content: string };

/** How many commits of a node's history a page shows. */
const HISTORY_LIMIT = 50;

/**
 * The web view's reads of the manifests repository: the serve's cache clone, at the head
 * the last fetch or push left for the hub's branch (`refs/remotes/origin/<branch>`). No
 * fetch, no lock (the clone's reads need none): a page shows what the service last saw.
 * One repository handle per hub, opened on first use and kept; the node listing is kept
 * per head, so a page of a 10,000-node hub lists Git once per commit, not per view.
 */
export class GitView {
  private readonly repos = new Map<string, { url: string; repo: Promise<ManifestsRepo> }>();
  private readonly listings = new Map<string, { key: string; folders: NodeFolder[] }>();

  constructor(private readonly openRepo: (hub: Hub) => Promise<ManifestsRepo>) {}

  /** The branch head the cache clone has for the hub; undefined when it has none yet (no sync has run). */
  async head(hub: Hub): Promise<string | undefined> {
    const repo = await this.repo(hub);
    return repo.fetchedHead(hub.spec.publish.branch);
  }

  /** Every node folder of the hub at `head`, as form and uid, sorted. */
  async nodes(hub: Hub, head: string | undefined): Promise<NodeFolder[]> {
    if (head === undefined) return [];
    const root = rootOf(hub);
    const key = `${head} ${root}`;
    const kept = this.listings.get(hub.name);
    if (kept?.key === key) return kept.folders;
    const repo = await this.repo(hub);
    const folders = [...(await repo.listNodeFolders(head, `${root}/${hub.name}`)).keys()]
      .map((key) => {
        const slash = key.indexOf('/');
        return { form: key.slice(0, slash), uid: key.slice(slash + 1) };
      })
      .sort((a, b) => (a.form === b.form ? compareStrings(a.uid, b.uid) : compareStrings(a.form, b.form)));
    this.listings.set(hub.name, { key, folders });
    return folders;
  }

  /** The node's files at `head`: its folder's in path order, then its engine object's file. */
  async files(hub: Hub, head: string, node: NodeFolder): Promise<GitFile[]> {
    const repo = await this.repo(hub);
    const [folder, appFile] = nodePaths(hub, rootOf(hub), node.form, node.uid);
    const listing = await repo.listTree(head, [`${folder}/`, appFile!]);
    // The node's own folder first, its engine object's file last.
    const paths = [...listing.keys()].sort(
      (a, b) => Number(a === appFile) - Number(b === appFile) || compareStrings(a, b),
    );
    const blobs = await repo.readBlobs([...new Set(listing.values())]);
    return paths.map((path) => ({ path, content: blobs.get(listing.get(path)!) ?? '' }));
  }

  /** The node's history as `lynq history` gives it (git/history.ts), newest first. */
  async history(hub: Hub, head: string, node: NodeFolder): Promise<HistoryEntry[]> {
    const repo = await this.repo(hub);
    return repo.history(head, {
      paths: nodePaths(hub, rootOf(hub), node.form, node.uid),
      node: { hub: hub.name, ...node },
      patch: false,
      limit: HISTORY_LIMIT,
    });
  }

  async close(): Promise<void> {
    const repos = [...this.repos.values()];
    this.repos.clear();
    await Promise.allSettled(repos.map(async (kept) => (await kept.repo).close()));
  }

  /** The hub's repository handle; a hub whose repository changed (a reload) gets a new one, the old one closed. */
  private repo(hub: Hub): Promise<ManifestsRepo> {
    const url = hub.spec.publish.repo ?? '';
    const kept = this.repos.get(hub.name);
    if (kept !== undefined && kept.url === url) return kept.repo;
    if (kept !== undefined) void kept.repo.then((old) => old.close()).catch(() => undefined);
    const repo = this.openRepo(hub);
    this.repos.set(hub.name, { url, repo });
    // One that could not be opened is tried again on the next view.
    repo.catch(() => {
      if (this.repos.get(hub.name)?.repo === repo) this.repos.delete(hub.name);
    });
    return repo;
  }
}

function rootOf(hub: Hub): string {
  return checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
}
