import { hash } from 'node:crypto';
import { compareStrings, isPlainObject } from './canonical-yaml.ts';

/** JSON with sorted keys: the same value always hashes the same. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const sorted = sortedKeys(keys);
    // A row's values are one level of plain values: JSON.stringify writes exactly these
    // keys in this order (and leaves out undefined ones), at about twice the speed; and
    // twice as fast again without the key list when the keys come sorted (a row's do:
    // sources/rows.ts).
    let flat = true;
    for (let i = 0; i < keys.length && flat; i++) {
      const member = value[keys[i]!];
      flat = typeof member !== 'object' || member === null;
    }
    if (flat) return lastInOrder ? JSON.stringify(value) : JSON.stringify(value, sorted);
    return `{${sorted
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The last key list sorted, and whether it came sorted: every row of a hub has the same columns, in the same order. */
let lastKeys: readonly string[] = [];
let lastSorted: string[] = [];
let lastInOrder = true;

function sortedKeys(keys: readonly string[]): string[] {
  let same = keys.length === lastKeys.length;
  for (let i = 0; i < keys.length && same; i++) same = keys[i] === lastKeys[i];
  if (!same) {
    lastSorted = [...keys].sort(compareStrings);
    lastKeys = keys;
    lastInOrder = lastSorted.every((key, index) => key === keys[index]);
  }
  return lastSorted;
}

// One-shot hashing (crypto.hash): a node takes some twenty hashes of small texts, and making a
// Hash object for each cost about as much as the hashing itself.
export function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

/** The id git gives a file with this content; lets us compare with a tree without writing. */
export function gitBlobId(content: string | Buffer): string {
  // Hashing the string directly saves copying every rendered file into a Buffer first.
  if (typeof content === 'string') return hash('sha1', `blob ${Buffer.byteLength(content, 'utf8')}\0${content}`, 'hex');
  return hash('sha1', Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]), 'hex');
}

type Folder = Map<string, string | Folder>;

/**
 * The id git gives a folder holding these files (path relative to the folder → blob id,
 * each a plain file, mode 100644, as the bridge writes them), subfolders included: what
 * `git ls-tree` shows for a node folder written with exactly these files. Lets a sync
 * remember a rendered node by its folder's id before the commit exists.
 */
export function gitTreeId(files: Iterable<readonly [string, string]>): string {
  const root: Folder = new Map();
  for (const [name, blob] of files) {
    const parts = name.split('/');
    let folder = root;
    for (const part of parts.slice(0, -1)) {
      let next = folder.get(part);
      if (typeof next !== 'object') folder.set(part, (next = new Map()));
      folder = next;
    }
    folder.set(parts[parts.length - 1]!, blob);
  }
  return treeId(root);
}

function treeId(folder: Folder): string {
  // git sorts a tree's entries by name bytes, a subfolder's name as if it ended in "/".
  const entries = [...folder].map(([name, value]) =>
    typeof value === 'string'
      ? { key: name, head: `100644 ${name}\0`, id: value }
      : { key: `${name}/`, head: `40000 ${name}\0`, id: treeId(value) },
  );
  // For ASCII names (a node's files always) code-unit order is byte order; otherwise compare the UTF-8 bytes.
  const ascii = entries.every((entry) => /^[\x00-\x7f]*$/.test(entry.key));
  entries.sort(
    ascii
      ? (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
      : (a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)),
  );
  // One buffer for the whole tree object: the header, then per entry its mode and name and its binary id.
  let length = 0;
  for (const entry of entries) length += Buffer.byteLength(entry.head) + entry.id.length / 2;
  const header = `tree ${length}\0`;
  const object = Buffer.allocUnsafe(header.length + length);
  let at = object.write(header, 0, 'latin1');
  for (const entry of entries) {
    at += object.write(entry.head, at, 'utf8');
    at += object.write(entry.id, at, 'hex');
  }
  // A repository in SHA-256 object format has 64-digit ids: hash the tree the same way.
  const algorithm = entries[0]?.id.length === 64 ? 'sha256' : 'sha1';
  return hash(algorithm, object, 'hex');
}
