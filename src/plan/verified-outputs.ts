import { sha256 } from '../render/hash.ts';
import type { ChangeCause } from './types.ts';

/**
 * The change a plan told of a node from its LynqNode without rendering it (a rollout's
 * waiting node): a function of the key (the input says what the node is rendered from, the
 * folder what its LynqNode recorded), so an earlier sync's word stands for the same key.
 */
export type ToldChange = { reasons: readonly string[]; causes: readonly ChangeCause[] };

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
  private readonly telling = new Map<string, ToldChange>();

  constructor(
    private readonly known: ReadonlySet<string> = new Set(),
    private readonly told: ReadonlyMap<string, ToldChange> = new Map(),
  ) {}

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

  /** What an earlier sync told of the node with this key, when it was a change left unrendered. */
  toldOf(key: string): ToldChange | undefined {
    return this.told.get(key);
  }

  /** This sync told this change of the node with this key (and left it unrendered). */
  tell(key: string, told: ToldChange): void {
    this.telling.set(key, told);
  }

  /** The changes to remember as told, when they differ from what was known: those told in this sync. */
  toldChanged(): Map<string, ToldChange> | undefined {
    if (this.telling.size === this.told.size && [...this.telling.keys()].every((key) => this.told.has(key)))
      return undefined;
    return new Map([...this.telling].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** What to remember for the next sync: the keys that held in this one, when they differ from what was known. */
  changed(): string[] | undefined {
    if (this.held.size === this.known.size && [...this.held].every((key) => this.known.has(key))) return undefined;
    return [...this.held].sort();
  }
}
