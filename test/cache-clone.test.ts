// @slow: about 16 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GitError } from '../src/errors.ts';
import { cloneId } from '../src/git/cache-clone.ts';
import { openManifestsRepo, type ManifestsRepo } from '../src/git/manifests-repo.ts';
import { createLogger, SecretRegistry, silentLogger } from '../src/logger.ts';
import { captureStream } from './helpers/files.ts';
import { cloneWorkTree, commitFiles, git, makeBareRepo, makeTempDir, readTree } from './helpers/git.ts';

const run = promisify(execFile);
const AUTHOR = { name: 'Lynq Bot', email: 'lynq@example.test' };
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const temp = await makeTempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

/** A bare remote with `files` on main; big files make git keep a pack rather than loose objects. */
async function seededRemote(files: Record<string, string>): Promise<{ bare: string; head: string }> {
  const bare = await makeBareRepo();
  cleanups.push(bare.cleanup);
  const work = await cloneWorkTree(bare.dir);
  cleanups.push(work.cleanup);
  const head = await commitFiles(work.dir, files, 'seed');
  await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return { bare: bare.dir, head };
}

function capturingLogger() {
  const stream = captureStream();
  return {
    logger: createLogger({ destination: stream, level: 'debug', registry: new SecretRegistry() }),
    lines: () =>
      stream
        .text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
}

async function open(
  url: string,
  cacheDir: string,
  logger = silentLogger(),
  extra: { lockWaitMs?: number } = {},
): Promise<ManifestsRepo> {
  const repo = await openManifestsRepo({ url, cacheDir, logger, registry: new SecretRegistry(), ...extra });
  cleanups.push(() => repo.close());
  return repo;
}

const cloneDir = (cacheDir: string, url: string) => path.join(cacheDir, 'repos', `${cloneId(url)}.git`);

/** Fetch into a cache clone with its objects packed (as after `gc`), then close it. */
async function warmCache(
  files: Record<string, string>,
): Promise<{ bare: string; head: string; cacheDir: string; clone: string }> {
  const { bare, head } = await seededRemote(files);
  const cacheDir = await tempDir();
  const repo = await open(bare, cacheDir);
  assert.equal(await repo.fetch('main'), head);
  await repo.close();
  const clone = cloneDir(cacheDir, bare);
  await git(clone, ['repack', '-a', '-d', '-q']);
  return { bare, head, cacheDir, clone };
}

async function packFiles(clone: string, ext: string): Promise<string[]> {
  return (await readdir(path.join(clone, 'objects', 'pack')))
    .filter((name) => name.endsWith(ext))
    .map((name) => path.join(clone, 'objects', 'pack', name));
}

/** A sync's worth of work on the clone: fetch, read, commit, push. */
async function syncWorks(repo: ManifestsRepo, bare: string, head: string): Promise<void> {
  assert.equal(await repo.fetch('main'), head);
  const listing = await repo.listTree(head, 'nodes');
  assert.ok(listing.size > 0);
  const blobs = await repo.readBlobs([...listing.values()]);
  assert.equal(blobs.size, listing.size);
  const commit = await repo.commit({
    parent: head,
    writes: new Map([['nodes/new.yaml', 'n: 1\n']]),
    deletes: [],
    message: 'lynq: sync',
    author: AUTHOR,
    time: 1_700_000_000,
  });
  assert.equal(await repo.push(commit, 'main', head), 'pushed');
  assert.equal((await readTree(bare, 'main')).get('nodes/new.yaml'), 'n: 1\n');
}

const FILES = { 'nodes/a.yaml': `a: ${'x'.repeat(3000)}\n`, 'nodes/deep/b.yaml': 'b: 1\n' };

describe('a damaged cache clone heals', () => {
  const damages: Record<string, (clone: string) => Promise<void>> = {
    'packs deleted': async (clone) => {
      for (const file of [...(await packFiles(clone, '.pack')), ...(await packFiles(clone, '.idx'))])
        await unlink(file);
    },
    'a pack truncated': async (clone) => {
      const [pack] = await packFiles(clone, '.pack');
      await truncate(pack!, 100);
    },
    'a pack with bytes appended': async (clone) => {
      const [pack] = await packFiles(clone, '.pack');
      await appendFile(pack!, 'garbage');
    },
    'an .idx removed': async (clone) => {
      for (const file of await packFiles(clone, '.idx')) await unlink(file);
    },
    'a .pack removed, its .idx left': async (clone) => {
      for (const file of await packFiles(clone, '.pack')) await unlink(file);
    },
    'garbage HEAD': (clone) => writeFile(path.join(clone, 'HEAD'), 'this is not a ref\n'),
    'HEAD removed': (clone) => unlink(path.join(clone, 'HEAD')),
    'garbage config': (clone) => writeFile(path.join(clone, 'config'), '[core\n\tbare = maybe\n\x00\x01'),
    'the clone path turned into a file': async (clone) => {
      await rm(clone, { recursive: true, force: true });
      await writeFile(clone, 'not a repository');
    },
    'a ref to a commit that is not there': (clone) =>
      writeFile(path.join(clone, 'refs', 'remotes', 'origin', 'main'), `${'1'.repeat(40)}\n`),
  };
  for (const [name, damage] of Object.entries(damages)) {
    it(`${name}: set aside, cloned afresh, the reason logged, the sync works`, async () => {
      const { bare, head, cacheDir, clone } = await warmCache(FILES);
      await damage(clone);
      const { logger, lines } = capturingLogger();
      const repo = await open(bare, cacheDir, logger);
      await syncWorks(repo, bare, head);
      const warning = lines().find(
        (line) => line.msg === 'the cache clone failed a check; it is set aside and cloned afresh',
      );
      assert.ok(warning, JSON.stringify(lines()));
      assert.equal(warning.dir, clone);
      assert.ok(typeof warning.reason === 'string' && warning.reason.length > 0);
      // The damaged one is kept for a post-mortem, in its own folder.
      assert.deepEqual(await readdir(path.join(cacheDir, 'damaged')), [cloneId(bare)]);
    });
  }

  it('a sound clone is not set aside', async () => {
    const { bare, head, cacheDir } = await warmCache(FILES);
    const { logger, lines } = capturingLogger();
    await syncWorks(await open(bare, cacheDir, logger), bare, head);
    assert.equal(lines().filter((line) => line.level === 'warn').length, 0, JSON.stringify(lines()));
  });

  it('damage the check cannot see (a lost object) fails that sync, named, and the next sync heals', async () => {
    const { bare, head } = await seededRemote(FILES);
    const cacheDir = await tempDir();
    const first = await open(bare, cacheDir);
    await first.fetch('main');
    await first.close();
    const clone = cloneDir(cacheDir, bare);
    // A small fetch leaves loose objects: lose the tree of nodes/deep.
    const deepTree = (await git(clone, ['rev-parse', `${head}:nodes/deep`])).trim();
    await unlink(path.join(clone, 'objects', deepTree.slice(0, 2), deepTree.slice(2)));
    const broken = await open(bare, cacheDir);
    assert.equal(await broken.fetch('main'), head);
    await assert.rejects(
      broken.listTree(head, 'nodes'),
      (error: unknown) => error instanceof GitError && /listing nodes at/.test(error.message),
    );
    await broken.close();
    const { logger, lines } = capturingLogger();
    await syncWorks(await open(bare, cacheDir, logger), bare, head);
    assert.match(
      lines().find((line) => line.level === 'warn')?.reason ?? '',
      /an earlier run found it damaged: .*listing nodes/,
    );
  });

  it('what killed runs leave behind is removed, and gc --auto is not blocked by an old gc.log', async () => {
    const { bare, head, cacheDir, clone } = await warmCache(FILES);
    const leftovers = [
      'objects/pack/tmp_pack_AbCdEf',
      'objects/pack/tmp_idx_AbCdEf',
      'objects/tmp_obj_XyZ',
      'config.lock',
      'packed-refs.lock',
      'refs/remotes/origin/main.lock',
      'gc.log',
      'gc.pid',
      'fast_import_crash_4242',
    ];
    for (const file of leftovers) await writeFile(path.join(clone, file), 'left over\n');
    await mkdir(path.join(clone, 'objects', 'incoming-QwErTy'));
    await git(clone, ['update-ref', 'refs/lynq/staging-4242-1', head]);
    const { logger, lines } = capturingLogger();
    await syncWorks(await open(bare, cacheDir, logger), bare, head);
    for (const file of [...leftovers, 'objects/incoming-QwErTy'])
      await assert.rejects(readFile(path.join(clone, file)), /ENOENT|EISDIR/, `${file} is still there`);
    assert.equal((await git(clone, ['for-each-ref', 'refs/lynq/'])).trim(), '');
    const note = lines().find((line) => line.msg === 'removed what killed runs left in the cache clone');
    assert.ok(note?.removed.includes('fast_import_crash_4242'), JSON.stringify(lines()));
  });
});

describe('the cache on a bad disk or folder', () => {
  it('a full disk says "no space left" with the path, and is a GitError', async (t) => {
    const { bare } = await seededRemote({ 'nodes/big.bin': randomBytes(600 * 1024).toString('base64') });
    const cacheDir = await tempDir();
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', cacheDir]);
    t.after(() => run('umount', [cacheDir]));
    const repo = await open(bare, cacheDir);
    await assert.rejects(repo.fetch('main'), (error: unknown) => {
      assert.ok(error instanceof GitError, String(error));
      assert.match(error.message, /no space left on device/i);
      assert.ok(error.message.includes(cacheDir), error.message);
      return true;
    });
  });

  it('a cache folder that cannot be written is a clean GitError naming it', async (t) => {
    const { bare } = await seededRemote(FILES);
    const cacheDir = await tempDir();
    await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', cacheDir]);
    t.after(() => run('umount', [cacheDir]));
    await assert.rejects(
      open(bare, cacheDir),
      (error: unknown) =>
        error instanceof GitError && error.message.includes(cacheDir) && /read-only/.test(error.message),
    );
    const file = path.join(await tempDir(), 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(
      open(bare, file),
      (error: unknown) =>
        error instanceof GitError && error.message.includes(file) && /a file is in the way/.test(error.message),
    );
  });
});

describe('a lock on the cache clone', () => {
  it('two users of one clone (two hubs, two syncs, two opens of an empty cache) take turns change by change; both work', async () => {
    const { bare, head } = await seededRemote(FILES);
    const cacheDir = await tempDir();
    // Both open an empty cache at once.
    const [a, b] = await Promise.all([open(bare, cacheDir), open(bare, cacheDir)]);
    assert.equal(await a.fetch('main'), head);
    assert.equal(await b.fetch('main'), head);
    const input = (file: string) => ({
      parent: head,
      writes: new Map([[file, `${file}\n`]]),
      deletes: [],
      message: 'lynq: sync',
      author: AUTHOR,
      time: 1_700_000_000,
    });
    // a starts building a commit: fast-import writes into the clone until a's commit ends.
    await a.storeAhead([['nodes/a.txt', 'nodes/a.txt\n']]);
    const order: string[] = [];
    const building = b.commit(input('nodes/b.txt')).then((id) => {
      order.push('b committed');
      return id;
    });
    // Reads need no lock: a goes on reading while b waits.
    assert.ok((await a.listTree(head, 'nodes')).size > 0);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([...order], [], 'b waits while a builds its commit');
    const mine = await a.commit(input('nodes/a.txt'));
    order.push('a committed');
    const theirs = await building;
    assert.deepEqual(order, ['a committed', 'b committed']);
    assert.equal(await a.push(mine, 'main', head), 'pushed');
    assert.equal(await b.push(theirs, 'main', head), 'moved', 'the lease sees that a pushed first');
    assert.ok((await readTree(bare, 'main')).has('nodes/a.txt'));
  });

  it('a lock left by a process that is gone is taken over', async () => {
    const { bare, head } = await seededRemote(FILES);
    const cacheDir = await tempDir();
    const lock = path.join(cacheDir, 'locks', `${cloneId(bare)}.lock`);
    await mkdir(lock, { recursive: true });
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    await writeFile(
      path.join(lock, 'owner.json'),
      JSON.stringify({ pid: child.pid, host: os.hostname(), since: '2026-01-01T00:00:00Z' }),
    );
    const { logger, lines } = capturingLogger();
    await syncWorks(await open(bare, cacheDir, logger), bare, head);
    assert.ok(
      lines().some(
        (line) => line.msg === 'a lock on the cache clone was left by a process that is gone; taking it over',
      ),
    );
  });

  it('a lock held by a live process past the wait is a GitError naming the holder', async () => {
    const { bare } = await seededRemote(FILES);
    const cacheDir = await tempDir();
    const lock = path.join(cacheDir, 'locks', `${cloneId(bare)}.lock`);
    await mkdir(lock, { recursive: true });
    const holder = spawn('sleep', ['60']);
    cleanups.push(async () => void holder.kill());
    await writeFile(
      path.join(lock, 'owner.json'),
      JSON.stringify({ pid: holder.pid, host: os.hostname(), since: '2026-01-01T00:00:00Z' }),
    );
    await assert.rejects(
      open(bare, cacheDir, silentLogger(), { lockWaitMs: 300 }),
      (error: unknown) =>
        error instanceof GitError &&
        new RegExp(`in use by process ${holder.pid} on ${os.hostname()}`).test(error.message),
    );
  });
});
