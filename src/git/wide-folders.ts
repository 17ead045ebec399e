import { blobIdOf, type FileContent } from '../plan/types.ts';
import { gitTreeId } from '../render/hash.ts';
import { STAGING_ROOT } from './fast-import-staging.ts';

/**
 * Wide folders, built whole. fast-import finds an entry of a folder by scanning the
 * folder's entries one by one, so changing thousands of the node folders of a form folder
 * of 100,000 costs the product of the two (it grows with the square of the node count),
 * and a form change over all of them would scan the form folder once per file. A folder with at least WIDE_AT changed children is instead written
 * whole: each changed child folder is written apart by fast-import (in a commit of its
 * own that nothing keeps, so the tree objects exist), its id computed here (gitTreeId),
 * the wide folder's new listing (Git's, with those children replaced or removed) made into
 * a tree by `git mktree`, and the commit replaces the folder with that tree in one entry.
 * The tree that results is the same, byte for byte, as entry-by-entry changes give.
 */
export const WIDE_AT = 500;

/** One entry of a folder, as `git ls-tree` and `git mktree` write it. */
export type TreeEntry = { mode: string; type: string; id: string };

/**
 * A changed child folder of a wide folder: every file it will hold, as name, blob id,
 * name, blob id, … in one array (a first sync rebuilds every node folder: a pair array per
 * file would add an object per file at the sync's peak).
 */
export type RebuiltFolder = { staging: string; files: readonly string[] };

/** The files of a rebuilt folder as (name, blob id) pairs. */
export function* filePairs(files: readonly string[]): Generator<readonly [string, string]> {
  for (let at = 0; at < files.length; at += 2) yield [files[at]!, files[at + 1]!];
}

export type WidePlan = {
  /** Wide folder → its new tree id (undefined: the folder is removed). */
  replaced: Map<string, string | undefined>;
  /** Child folders to write apart, so their trees exist. */
  rebuilt: RebuiltFolder[];
  /** Every tree id the replaced folders name that fast-import must write (checked after the commit). */
  expectedTrees: string[];
};

/** What building wide folders needs from the repository. */
export type WideGit = {
  /** Entries under these folder paths (`dir/`) at `commit`: direct children, or every file with `recursive`. */
  lsTree(commit: string, recursive: boolean, prefixes: readonly string[]): Promise<Map<string, TreeEntry>>;
  /** Write a tree of these entries (name → entry); its id. Entries may name objects not stored yet. */
  mktree(entries: ReadonlyMap<string, TreeEntry>): Promise<string>;
};

/** Whether `path` lies inside one of the folders the plan replaces whole (the commit writes it there, not entry by entry). */
export function inWideFolder(plan: WidePlan | undefined, path: string): boolean {
  if (plan === undefined) return false;
  for (const folder of plan.replaced.keys())
    if (path.length > folder.length && path.charCodeAt(folder.length) === SLASH && path.startsWith(folder)) return true;
  return false;
}

const SLASH = 0x2f;

/**
 * Folders with at least WIDE_AT changed children (files or folders), none inside another
 * (the deepest win). Children are counted as runs: a sync gives a node's files together, so
 * a child seen right after itself is not counted again (and a path's folders are sliced
 * only where they differ from the path before: a first sync of 100,000 nodes gives 700,000
 * paths). A child that comes back later is counted again; at worst a folder is then
 * written whole when it need not be, which gives the same tree.
 */
export function wideFolders(paths: Iterable<string>): string[] {
  const runs = new Map<string, { count: number; last: string }>();
  let before: Array<{ folder: string; run: { count: number; last: string } }> = [];
  for (const path of paths) {
    const here: typeof before = [];
    for (let at = path.indexOf('/'), depth = 0; at >= 0; depth++) {
      const next = path.indexOf('/', at + 1);
      const same = before[depth];
      const folder =
        same !== undefined && same.folder.length === at && path.startsWith(same.folder)
          ? same.folder
          : path.slice(0, at);
      let run = same?.folder === folder ? same.run : runs.get(folder);
      if (run === undefined) runs.set(folder, (run = { count: 0, last: '' }));
      const end = next < 0 ? path.length : next;
      if (run.last.length !== end - at - 1 || !path.startsWith(run.last, at + 1) || run.count === 0) {
        run.count++;
        run.last = path.slice(at + 1, end);
      }
      here.push({ folder, run });
      at = next;
    }
    before = here;
  }
  const wide = [...runs]
    .filter(([folder, run]) => run.count >= WIDE_AT && !folder.startsWith(STAGING_ROOT))
    .map(([folder]) => folder);
  return wide.filter((folder) => !wide.some((other) => other !== folder && other.startsWith(`${folder}/`)));
}

/** What a commit changes under one child of a wide folder: the child itself (a file, or removed whole), or files inside it (relative path, blob id, … as RebuiltFolder's files). */
type ChildChange = { self?: { id: string } | 'deleted'; writes: string[]; deletes?: Set<string> };

/**
 * Plan the wide folders' new trees from the parent's, or undefined when one cannot be
 * built this way (an entry that is not a plain file or folder, a SHA-256 repository): the
 * commit then changes it entry by entry, as before.
 */
export async function planWideFolders(
  git: WideGit,
  parent: string | undefined,
  folders: readonly string[],
  writes: ReadonlyMap<string, FileContent>,
  deletes: readonly string[],
): Promise<WidePlan | undefined> {
  const plan: WidePlan = { replaced: new Map(), rebuilt: [], expectedTrees: [] };
  // A node's file names repeat in every node folder: one string each, not one per file.
  const names = new Map<string, string>();
  const named = (name: string): string => {
    const known = names.get(name);
    if (known !== undefined) return known;
    names.set(name, name);
    return name;
  };
  for (const wide of folders) {
    const prefix = `${wide}/`;
    // The changes under this folder, by child; the child of the path before is found without slicing.
    const changes = new Map<string, ChildChange>();
    let last: { child: string; change: ChildChange } | undefined;
    const changeOf = (path: string): [ChildChange, string | undefined] => {
      const at = path.indexOf('/', prefix.length);
      const end = at < 0 ? path.length : at;
      if (
        last === undefined ||
        last.child.length !== end - prefix.length ||
        !path.startsWith(last.child, prefix.length)
      ) {
        const child = path.slice(prefix.length, end);
        let change = changes.get(child);
        if (change === undefined) changes.set(child, (change = { writes: [] }));
        last = { child, change };
      }
      return [last.change, at < 0 ? undefined : named(path.slice(at + 1))];
    };
    for (const [path, content] of writes) {
      if (!path.startsWith(prefix)) continue;
      const [change, rest] = changeOf(path);
      if (rest === undefined) change.self = { id: blobIdOf(content) };
      else change.writes.push(rest, blobIdOf(content));
    }
    for (const path of deletes) {
      if (!path.startsWith(prefix)) continue;
      const [change, rest] = changeOf(path);
      if (rest === undefined) change.self = 'deleted';
      else (change.deletes ??= new Set()).add(rest);
    }
    const top = parent === undefined ? new Map<string, TreeEntry>() : await git.lsTree(parent, false, [prefix]);
    const entries = new Map([...top].map(([path, entry]) => [path.slice(prefix.length), entry]));
    if ([...entries.values()].some((entry) => entry.id.length !== 40)) return undefined;
    // The files of changed child folders Git has: listed once, by name or (many) the whole folder.
    const listed = [...changes.keys()].filter((child) => entries.get(child)?.type === 'tree');
    const files =
      listed.length === 0 || parent === undefined
        ? new Map<string, TreeEntry>()
        : await git.lsTree(parent, true, listed.length > 2000 ? [prefix] : listed.map((child) => `${prefix}${child}/`));
    const kept = new Map<string, Map<string, string>>();
    for (const [path, entry] of files) {
      const [child, rest] = split(path.slice(prefix.length));
      if (!changes.has(child) || rest === undefined) continue;
      // Only plain files can be rebuilt with gitTreeId: anything else keeps the entry-by-entry way.
      if (entry.mode !== '100644' || entry.type !== 'blob') return undefined;
      let map = kept.get(child);
      if (map === undefined) kept.set(child, (map = new Map()));
      map.set(rest, entry.id);
    }
    for (const [child, change] of changes) {
      const existing = entries.get(child);
      if (
        existing !== undefined &&
        existing.type !== 'tree' &&
        !(existing.type === 'blob' && existing.mode === '100644')
      )
        return undefined;
      if (change.self !== undefined) {
        // A file directly in the wide folder (a node's apps file), or a child removed whole.
        if (change.writes.length > 0 || change.deletes !== undefined) return undefined;
        if (change.self === 'deleted') entries.delete(child);
        else entries.set(child, { mode: '100644', type: 'blob', id: change.self.id });
        continue;
      }
      if (existing !== undefined && existing.type !== 'tree') return undefined;
      const before = kept.get(child);
      // A new folder (the most: a first sync) is exactly its writes; else Git's files, changed.
      let folderFiles: readonly string[] = change.writes;
      if (before !== undefined || change.deletes !== undefined) {
        const merged = new Map<string, string>();
        for (const [rest, id] of before ?? []) if (change.deletes?.has(rest) !== true) merged.set(rest, id);
        for (const [rest, id] of filePairs(change.writes)) merged.set(rest, id);
        folderFiles = [...merged].flat();
      }
      if (folderFiles.length === 0) {
        entries.delete(child);
        continue;
      }
      const tree = gitTreeId(filePairs(folderFiles));
      const index = plan.rebuilt.length;
      plan.rebuilt.push({
        staging: `${STAGING_ROOT}/t/${Math.floor(index / 4096)}/${Math.floor(index / 64) % 64}/${index % 64}`,
        files: folderFiles,
      });
      plan.expectedTrees.push(tree);
      entries.set(child, { mode: '040000', type: 'tree', id: tree });
    }
    plan.replaced.set(wide, entries.size === 0 ? undefined : await git.mktree(entries));
  }
  return plan;
}

/** `a/b/c` → [`a`, `b/c`]; `a` → [`a`, undefined]. */
function split(path: string): [string, string | undefined] {
  const at = path.indexOf('/');
  return at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 1)];
}
