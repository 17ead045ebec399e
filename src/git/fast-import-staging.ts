/**
 * Where `git fast-import` should first put the files of one commit, so wide folders stay
 * cheap. fast-import finds a path's folder by scanning the folder's entries one by one:
 * writing every file of thousands of node folders into one form folder scans that folder
 * once per file, which was most of a large first commit.
 * Instead, each new folder small enough (at most `MAX_FILES` files) is written under a
 * small staging folder and moved into place with one `R`: the form folder is scanned
 * once per node, not once per file. The tree that results is the same, byte for byte.
 */

/** Staging folders are this far apart in size: small enough that fast-import scans them cheaply. */
const MAX_FILES = 64;
const FAN_OUT = 64;
export const STAGING_ROOT = '.lynq-fast-import-staging';

/** A new folder written whole: its files go under `staging`, then `R staging folder`. */
export type StagedFolder = { folder: string; staging: string };

export type StagingPlan = {
  /** Per written path, where to write it instead; paths not in it are written where they are. */
  stagedPath: Map<string, string>;
  folders: StagedFolder[];
};

/** The folders that could be staged (at most MAX_FILES written files under them): ask the parent commit which exist. */
export function stagingCandidates(paths: readonly string[]): string[] {
  return [...filesUnder(paths)].filter(([, count]) => count <= MAX_FILES).map(([folder]) => folder);
}

/**
 * For each written file, the highest folder above it that is new (`isNew`) and holds at
 * most MAX_FILES written files: that folder is staged whole. Folders that already exist
 * are never staged (a move would drop the files they keep).
 */
export function stagingPlan(paths: readonly string[], isNew: (folder: string) => boolean): StagingPlan {
  const counts = filesUnder(paths);
  const stagedPath = new Map<string, string>();
  const folders: StagedFolder[] = [];
  const stagingOf = new Map<string, string>();
  for (const path of paths) {
    const folder = ancestors(path).find((candidate) => counts.get(candidate)! <= MAX_FILES && isNew(candidate));
    if (folder === undefined) continue;
    let staging = stagingOf.get(folder);
    if (staging === undefined) {
      const index = folders.length;
      staging = `${STAGING_ROOT}/${Math.floor(index / FAN_OUT)}/${index % FAN_OUT}`;
      stagingOf.set(folder, staging);
      folders.push({ folder, staging });
    }
    stagedPath.set(path, `${staging}${path.slice(folder.length)}`);
  }
  return { stagedPath, folders };
}

function filesUnder(paths: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const path of paths) for (const folder of ancestors(path)) counts.set(folder, (counts.get(folder) ?? 0) + 1);
  return counts;
}

/** `a/b/c.yaml` → `a`, `a/b` (outermost first). */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) out.push(path.slice(0, at));
  return out;
}
