import { sha256 } from '../render/hash.ts';

/**
 * Node outputs whose LynqNode seal a sync has already checked, remembered between syncs
 * so that a node found exactly as it was costs neither a listing of its files nor a read of
 * its LynqNode. A key is the hash of the input hash, the id of the node's folder (a git
 * tree id: every file name and blob id under it, its LynqNode's included) and its apps
 * file: git objects never change, so a key once true stays true. The set only saves
 * work; without it (a first run, a fresh cache, a dry run) every node is listed and its
 * LynqNode read and checked.
 */
export class VerifiedOutputs {
  private readonly held = new Set<string>();

  constructor(private readonly known: ReadonlySet<string> = new Set()) {}

  /** The key of a node whose folder in Git is the tree `tree` (none: no folder) and whose apps file is `app`, for `inputHash`. */
  static key(inputHash: string, tree: string | undefined, app: { path: string; blob: string } | undefined): string {
    return sha256(`${inputHash}\ntree ${tree ?? ''}\napp ${app === undefined ? '' : `${app.path} ${app.blob}`}\n`);
  }

  /** Whether the seal was found to hold for this key by an earlier sync. */
  has(key: string): boolean {
    return this.known.has(key);
  }

  /** The seal holds for this key in this sync (found in Git, or just rendered). */
  hold(key: string): void {
    this.held.add(key);
  }

  /** What to remember for the next sync: the keys that held in this one, when they differ from what was known. */
  changed(): string[] | undefined {
    if (this.held.size === this.known.size && [...this.held].every((key) => this.known.has(key))) return undefined;
    return [...this.held].sort();
  }
}
