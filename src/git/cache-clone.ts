import { createHash } from 'node:crypto';
import {
  closeSync,
  type Dirent,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  type Stats,
} from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { acquireCloneLock, type CloneLock, type LockOptions } from './clone-lock.ts';
import { ensureDir, fsFailure } from './fs-failure.ts';
import type { RunResult } from './git.ts';

/**
 * The cache clone is only a cache: nothing in it is needed for a correct result. So a
 * clone that fails a check is set aside and started afresh (once per open, so once per
 * sync), with the reason logged, instead of failing every later sync until someone
 * deletes it by hand. The checks are cheap (no object is decompressed): the path is a
 * folder, HEAD and config are git's, every pack has its index and ends as its index says,
 * every ref's commit and root tree are there, and no earlier run marked the clone as
 * damaged (a local git command failing mid-sync does that: see markDamaged).
 *
 * The file reads are synchronous (a few small files, microseconds each): the clone is
 * opened while the sync reads its rows, and each await would wait for a turn of an event
 * loop that parsing many rows keeps busy (the open then finished well after the rows, most
 * of it waiting between steps).
 */

type Run = (dir: string, args: readonly string[], input?: string) => Promise<RunResult>;

/**
 * `lock` is held (for the check and the first set-up); `relock` takes it again for each
 * later change to the clone. `refs`: every ref the check found, by name, with its commit.
 */
export type PreparedClone = {
  dir: string;
  lock: CloneLock;
  relock: () => Promise<CloneLock>;
  refs: ReadonlyMap<string, string>;
};

export const DAMAGED_MARKER = 'lynq-damaged';

export function cloneId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** Take the clone's lock, check it, heal or tidy it. The caller initialises it and releases the lock when done. */
export async function prepareCacheClone(
  cacheDir: string,
  url: string,
  run: Run,
  options: LockOptions & { logger: Logger },
): Promise<PreparedClone> {
  const id = cloneId(url);
  const repos = path.join(cacheDir, 'repos');
  ensureDir(repos, 'cannot create the cache folder');
  const lockDir = path.join(cacheDir, 'locks', `${id}.lock`);
  const relock = () => acquireCloneLock(lockDir, options);
  const lock = await relock();
  const dir = path.join(repos, `${id}.git`);
  try {
    const inspected = await inspectClone(dir, run);
    let refs = new Map<string, string>();
    if (typeof inspected === 'string') {
      options.logger.warn(
        { dir, reason: inspected },
        'the cache clone failed a check; it is set aside and cloned afresh',
      );
      await setAside(dir, path.join(cacheDir, 'damaged', id));
    } else {
      refs = await removeLeftovers(dir, run, options.logger, inspected);
    }
    ensureDir(dir, 'cannot create the cache clone');
    return { dir, lock, relock, refs };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Why the clone at `dir` cannot be trusted, or its refs (name → commit; none: it does not exist yet) when it can. */
async function inspectClone(dir: string, run: Run): Promise<string | Map<string, string>> {
  let info: Stats;
  try {
    info = lstatSync(dir);
  } catch {
    return new Map();
  }
  if (!info.isDirectory()) return 'the clone path is not a folder';
  const entries = readdirSync(dir);
  if (entries.length === 0) return new Map();
  if (entries.includes(DAMAGED_MARKER))
    return `an earlier run found it damaged: ${readFileSync(path.join(dir, DAMAGED_MARKER), 'utf8').trim()}`;
  let head: string;
  try {
    head = readFileSync(path.join(dir, 'HEAD'), 'utf8');
  } catch {
    return 'HEAD is missing';
  }
  if (!/^(ref: refs\/\S+|[0-9a-f]{40}|[0-9a-f]{64})\n?$/.test(head)) return 'HEAD is not a ref or a commit id';
  // Both only read: asked at once.
  const [bare, refs] = await Promise.all([
    run(dir, ['rev-parse', '--is-bare-repository']),
    run(dir, ['for-each-ref', '--format=%(objectname) %(refname)']),
  ]);
  if (bare.code !== 0 || bare.stdout.toString('utf8').trim() !== 'true')
    return `git cannot read it as a bare repository: ${firstLine(bare.stderr)}`;
  const packProblem = inspectPacks(path.join(dir, 'objects', 'pack'));
  if (packProblem !== undefined) return packProblem;
  if (refs.code !== 0) return `its refs cannot be read: ${firstLine(refs.stderr)}`;
  const listed = refs.stdout
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ') as [string, string]);
  if (listed.length === 0) return new Map();
  const asked = listed.flatMap(([id]) => [`${id}^{commit}`, `${id}^{tree}`]);
  const found = await run(dir, ['cat-file', '--batch-check'], `${asked.join('\n')}\n`);
  if (found.code !== 0) return `its objects cannot be read: ${firstLine(found.stderr)}`;
  const lines = found.stdout.toString('utf8').split('\n');
  const missing = asked.findIndex((_, index) => !/ (commit|tree) \d+$/.test(lines[index] ?? ''));
  if (missing >= 0)
    return `${listed[Math.floor(missing / 2)]![1]} points to a ${missing % 2 === 0 ? 'commit' : 'tree'} that is missing`;
  return new Map(listed.map(([id, ref]) => [ref, id]));
}

/** Every pack has its index and vice versa; a pack starts with PACK and ends with the checksum its index records (so a cut pack shows). */
function inspectPacks(packDir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(packDir);
  } catch {
    return 'objects/pack is missing';
  }
  const packs = new Set(
    names.filter((name) => name.endsWith('.pack') && !name.startsWith('tmp_')).map((name) => name.slice(0, -5)),
  );
  const indexes = new Set(
    names.filter((name) => name.endsWith('.idx') && !name.startsWith('tmp_')).map((name) => name.slice(0, -4)),
  );
  for (const pack of packs) if (!indexes.has(pack)) return `objects/pack/${pack}.pack has no index`;
  for (const index of indexes) if (!packs.has(index)) return `objects/pack/${index}.idx has no pack`;
  for (const pack of packs) {
    const [packHead, packTail] = ends(path.join(packDir, `${pack}.pack`), 4, 20);
    const [, indexTail] = ends(path.join(packDir, `${pack}.idx`), 0, 40);
    if (packHead.toString('latin1') !== 'PACK') return `objects/pack/${pack}.pack is not a pack`;
    if (indexTail.length < 40 || !packTail.equals(indexTail.subarray(0, 20)))
      return `objects/pack/${pack}.pack is cut short or changed (its checksum is not the one its index records)`;
  }
  return undefined;
}

/** The first `head` and last `tail` bytes of a file (fewer when it is shorter). */
function ends(file: string, head: number, tail: number): [Buffer, Buffer] {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const first = Buffer.alloc(Math.min(head, size));
    readSync(fd, first, 0, first.length, 0);
    const last = Buffer.alloc(Math.min(tail, size));
    readSync(fd, last, 0, last.length, size - last.length);
    return [first, last];
  } finally {
    closeSync(fd);
  }
}

/** Keep the damaged clone for a post-mortem (only the latest one per repository, so a cache cannot fill up with them). */
async function setAside(dir: string, asideDir: string): Promise<void> {
  await rm(asideDir, { recursive: true, force: true });
  await mkdir(path.dirname(asideDir), { recursive: true });
  try {
    await rename(dir, asideDir);
  } catch {
    await rm(dir, { recursive: true, force: true }).catch((error: unknown) => {
      throw fsFailure('cannot set the damaged cache clone aside', dir, error);
    });
  }
}

/** Record that a local git command failed in the clone, so the next open starts afresh. Best effort. */
export async function markDamaged(dir: string, reason: string): Promise<void> {
  await writeFile(path.join(dir, DAMAGED_MARKER), `${new Date().toISOString()} ${reason}\n`).catch(() => undefined);
}

/**
 * What killed runs leave behind: temporary packs and objects, lock files, a gc log that
 * stops `gc --auto` for a day, fast-import crash reports, staging refs. Safe to remove
 * because the clone's lock is held: no other run is inside it. The refs left, by name.
 */
async function removeLeftovers(
  dir: string,
  run: Run,
  logger: Logger,
  refs: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const left = new Map(refs);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return left;
  }
  const removed: string[] = [];
  const remove = async (file: string): Promise<void> => {
    await rm(file, { recursive: true, force: true });
    removed.push(path.relative(dir, file));
  };
  for (const name of entries) {
    if (name.endsWith('.lock') || name === 'gc.pid' || name === 'gc.log' || name.startsWith('fast_import_crash_'))
      await remove(path.join(dir, name));
  }
  for (const sub of ['objects', path.join('objects', 'pack')]) {
    for (const name of readNames(path.join(dir, sub)))
      if (name.startsWith('tmp_') || name.startsWith('incoming-') || name.endsWith('.keep.lock'))
        await remove(path.join(dir, sub, name));
  }
  await removeRefLocks(path.join(dir, 'refs'), remove);
  // The refs the check listed: the lock is held, so no run has made one since.
  for (const ref of [...refs.keys()].filter((name) => name.startsWith('refs/lynq/'))) {
    await run(dir, ['update-ref', '-d', ref]);
    left.delete(ref);
    removed.push(ref);
  }
  if (removed.length > 0) logger.info({ dir, removed }, 'removed what killed runs left in the cache clone');
  return left;
}

async function removeRefLocks(folder: string, remove: (file: string) => Promise<void>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) await removeRefLocks(file, remove);
    else if (entry.name.endsWith('.lock')) await remove(file);
  }
}

/** A folder's names; none when it cannot be read. */
function readNames(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
