// @slow: about 40 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitError } from '../src/errors.ts';
import { cloneId } from '../src/git/cache-clone.ts';
import { acquireCloneLock } from '../src/git/clone-lock.ts';
import { STAGING_ROOT, stagingPlan } from '../src/git/fast-import-staging.ts';
import { openManifestsRepo, type CommitInput, type ManifestsRepo } from '../src/git/manifests-repo.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { gitBlobId } from '../src/render/hash.ts';
import {
  cloneWorkTree,
  commitCount,
  commitFiles,
  git,
  gitBuffer,
  logMessages,
  makeBareRepo,
  makeTempDir,
  readTree,
  readTreeBytes,
  revParse,
} from './helpers/git.ts';

const AUTHOR = { name: 'Lynq Bot', email: 'lynq@example.test' };
const TIME = 1_700_000_000;

/** Everything a test opened, closed at the end whatever happened. */
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function bareRepo(): Promise<string> {
  const bare = await makeBareRepo();
  cleanups.push(bare.cleanup);
  return bare.dir;
}

async function tempDir(): Promise<string> {
  const temp = await makeTempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

/** A bare remote with one commit of `files` on main, made by "someone else". */
async function seededRemote(files: Record<string, string>, message = 'seed'): Promise<{ bare: string; head: string }> {
  const bare = await bareRepo();
  const work = await cloneWorkTree(bare);
  cleanups.push(work.cleanup);
  const head = await commitFiles(work.dir, files, message);
  await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return { bare, head };
}

async function open(url: string, cacheDir?: string | null): Promise<ManifestsRepo> {
  const repo = await openManifestsRepo({
    url,
    cacheDir: cacheDir === null ? undefined : (cacheDir ?? (await tempDir())),
    logger: silentLogger(),
    registry: new SecretRegistry(),
  });
  cleanups.push(() => repo.close());
  return repo;
}

function commitInput(overrides: Partial<CommitInput>): CommitInput {
  return {
    parent: undefined,
    writes: new Map(),
    deletes: [],
    message: 'lynq: sync',
    author: AUTHOR,
    time: TIME,
    ...overrides,
  };
}

describe('listTree', () => {
  let bare: string;
  let head: string;
  let repo: ManifestsRepo;
  before(async () => {
    ({ bare, head } = await seededRemote({
      'nodes/a.yaml': 'a: 1\n',
      'nodes/sub/b.yaml': 'b: 2\n',
      'nodes-extra/d.yaml': 'd: 4\n',
      'nodes.txt': 'not a folder\n',
      'other/c.yaml': 'c: 3\n',
    }));
    repo = await open(bare);
    assert.equal(await repo.fetch('main'), head);
  });

  it('lists every file under a prefix, recursively, with its blob id', async () => {
    const listing = await repo.listTree(head, 'nodes');
    assert.deepEqual([...listing.keys()].sort(), ['nodes/a.yaml', 'nodes/sub/b.yaml']);
    for (const [file, id] of listing)
      assert.equal(id, (await git(bare, ['rev-parse', `${head}:${file}`])).trim(), file);
  });

  it('treats the prefix as a folder (a trailing slash changes nothing, siblings sharing the name are out)', async () => {
    const withSlash = await repo.listTree(head, 'nodes/');
    assert.deepEqual([...withSlash.keys()].sort(), ['nodes/a.yaml', 'nodes/sub/b.yaml']);
    assert.deepEqual([...(await repo.listTree(head, 'nodes/sub')).keys()], ['nodes/sub/b.yaml']);
  });

  it('is empty for a prefix that does not exist and for no commit', async () => {
    assert.equal((await repo.listTree(head, 'missing/folder')).size, 0);
    assert.equal((await repo.listTree(undefined, 'nodes')).size, 0);
  });

  it('fails with a GitError for a commit the clone does not have', async () => {
    await assert.rejects(repo.listTree('0123456789012345678901234567890123456789', 'nodes'), GitError);
  });
});

describe('listNodeFolders, and listTree of many folders', () => {
  const files: Record<string, string> = {
    'nodes/hub/web/acme/web.yaml': 'acme\n',
    'nodes/hub/web/acme/levels/1/kustomization.yaml': 'level\n',
    'nodes/hub/web/globex/web.yaml': 'globex\n',
    'nodes/hub/web/stray.yaml': 'a file beside the node folders\n',
    'nodes/hub/api/acme/api.yaml': 'api\n',
    'nodes/hub/readme.md': 'a file beside the form folders\n',
    'nodes/hub-2/web/acme/web.yaml': 'another hub sharing the name\n',
  };
  // Enough node folders that listing them by name takes more than one git command.
  for (let i = 0; i < 1200; i++) files[`nodes/hub/many/n${i}/a.yaml`] = `${i}\n`;
  let bare: string;
  let head: string;
  let repo: ManifestsRepo;
  before(async () => {
    ({ bare, head } = await seededRemote(files));
    repo = await open(bare);
    await repo.fetch('main');
  });

  it('lists the folders two levels down, form/uid → tree id, and nothing else', async () => {
    const folders = await repo.listNodeFolders(head, 'nodes/hub');
    assert.equal(folders.size, 3 + 1200);
    for (const key of ['web/acme', 'web/globex', 'api/acme', 'many/n0', 'many/n1199']) {
      assert.equal(folders.get(key), (await git(bare, ['rev-parse', `${head}:nodes/hub/${key}`])).trim(), key);
    }
    assert.equal(
      [...folders.keys()].some((key) => key.includes('.') || key.startsWith('hub-2')),
      false,
    );
  });

  it('is empty for a hub folder that does not exist and for no commit', async () => {
    assert.equal((await repo.listNodeFolders(head, 'nodes/missing')).size, 0);
    assert.equal((await repo.listNodeFolders(undefined, 'nodes/hub')).size, 0);
  });

  it('lists the files of many folders by name, across several git commands, and only theirs', async () => {
    const wanted = Array.from({ length: 1200 }, (_, i) => `nodes/hub/many/n${i}/`).filter((_, i) => i % 2 === 0);
    const listing = await repo.listTree(head, [...wanted, 'nodes/hub/web/acme/']);
    assert.equal(listing.size, 600 + 2);
    assert.equal(listing.get('nodes/hub/many/n1198/a.yaml'), gitBlobId('1198\n'));
    assert.equal(listing.has('nodes/hub/many/n1/a.yaml'), false);
    assert.equal(listing.get('nodes/hub/web/acme/levels/1/kustomization.yaml'), gitBlobId('level\n'));
    assert.equal((await repo.listTree(head, [])).size, 0, 'no folder asked, none listed');
  });
});

describe('readBlobs', () => {
  it('reads several blobs by id, skips missing ids and tolerates duplicates', async () => {
    const files = {
      'n/one.yaml': 'one: 1\n',
      'n/two.yaml': 'two: ü\n',
      'n/empty.yaml': '',
      'n/three.yaml': 'no newline',
    };
    const { bare, head } = await seededRemote(files);
    const repo = await open(bare);
    await repo.fetch('main');
    const listing = await repo.listTree(head, 'n');
    assert.equal(listing.size, 4);
    const missing = 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef';
    const ids = [...listing.values()];
    const blobs = await repo.readBlobs([ids[0]!, missing, ...ids, ids[1]!]);
    assert.equal(blobs.size, 4);
    assert.equal(blobs.has(missing), false);
    for (const [file, id] of listing) assert.equal(blobs.get(id), files[file as keyof typeof files], file);
  });

  it('returns an empty map for no ids', async () => {
    const repo = await open(await bareRepo());
    assert.equal((await repo.readBlobs([])).size, 0);
  });
});

describe('commit and push', () => {
  it('builds a first commit without parent and pushes it to an empty repository', async () => {
    const bare = await bareRepo();
    const repo = await open(bare);
    assert.equal(await repo.fetch('main'), undefined);
    const writes = new Map([
      ['nodes/a.yaml', 'a: 1\n'],
      ['nodes/b/c.yaml', 'c: 3\n'],
    ]);
    const commit = await repo.commit(commitInput({ writes, message: 'first' }));
    assert.match(commit, /^[0-9a-f]{40}$/);
    assert.equal(await repo.push(commit, 'main', undefined), 'pushed');
    assert.equal(await revParse(bare, 'refs/heads/main'), commit);
    assert.deepEqual(await readTree(bare, 'main'), writes);
    assert.equal(await commitCount(bare, 'main'), 1);
    assert.deepEqual(await logMessages(bare, 'main'), ['first']);
    assert.equal(await repo.fetch('main'), commit);
  });

  it('applies writes and deletes (a deleted folder loses all its files) on top of the parent', async () => {
    const { bare, head } = await seededRemote({
      'nodes/a/x.yaml': 'x: 1\n',
      'nodes/a/deep/y.yaml': 'y: 2\n',
      'nodes/b/z.yaml': 'z: 3\n',
      'nodes/c/gone.yaml': 'gone\n',
      'keep.txt': 'kept\n',
    });
    const repo = await open(bare);
    assert.equal(await repo.fetch('main'), head);
    const commit = await repo.commit(
      commitInput({
        parent: head,
        deletes: ['nodes/a', 'nodes/c/gone.yaml'],
        writes: new Map([
          ['nodes/b/z.yaml', 'z: 30\n'],
          ['nodes/d/new.yaml', 'new: true\n'],
        ]),
        message: 'lynq: update b, add d, remove a',
      }),
    );
    // The commit exists before the push: the remote is untouched.
    assert.equal(await revParse(bare, 'main'), head);
    assert.equal(await repo.push(commit, 'main', head), 'pushed');
    assert.deepEqual(
      await readTree(bare, 'main'),
      new Map([
        ['keep.txt', 'kept\n'],
        ['nodes/b/z.yaml', 'z: 30\n'],
        ['nodes/d/new.yaml', 'new: true\n'],
      ]),
    );
    assert.equal((await git(bare, ['rev-parse', 'main^'])).trim(), head);
    assert.equal(await commitCount(bare, 'main'), 2);
    assert.deepEqual(await logMessages(bare, 'main'), ['lynq: update b, add d, remove a', 'seed']);
    const meta = (await git(bare, ['log', '-1', '--format=%an|%ae|%at|%cn|%ce|%ct', 'main'])).trim();
    assert.equal(meta, `${AUTHOR.name}|${AUTHOR.email}|${TIME}|${AUTHOR.name}|${AUTHOR.email}|${TIME}`);
    // The listing seen by the next sync matches.
    assert.deepEqual([...(await repo.listTree(commit, 'nodes')).keys()].sort(), ['nodes/b/z.yaml', 'nodes/d/new.yaml']);
  });

  it('is byte-exact: unicode, no trailing newline, CRLF, empty files, unicode message', async () => {
    const bare = await bareRepo();
    const repo = await open(bare);
    const contents = new Map([
      ['nodes/ünï/çødé.yaml', 'name: "héllo ✓ 日本語 🚀"\nlast: line without newline'],
      ['nodes/crlf.yaml', 'a: 1\r\nb: 2\r\n'],
      ['nodes/empty.yaml', ''],
      ['nodes/trailing-spaces.yaml', 'x:   \n\n\n'],
    ]);
    const message = 'lynq: sync — ünïcode ✓\n\nbody line\n';
    const commit = await repo.commit(commitInput({ writes: contents, message }));
    assert.equal(await repo.push(commit, 'main', undefined), 'pushed');
    const bytes = await readTreeBytes(bare, 'main');
    assert.deepEqual([...bytes.keys()].sort(), [...contents.keys()].sort());
    for (const [file, content] of contents)
      assert.ok(bytes.get(file)!.equals(Buffer.from(content, 'utf8')), `bytes of ${file}`);
    const raw = await gitBuffer(bare, ['cat-file', 'commit', 'main']);
    assert.ok(raw.toString('utf8').endsWith(`\n\n${message}`), 'message stored exactly');
    // And read back through the repo itself.
    const listing = await repo.listTree(commit, 'nodes');
    const blobs = await repo.readBlobs([...listing.values()]);
    for (const [file, id] of listing) assert.equal(blobs.get(id), contents.get(file), file);
  });

  it("returns 'moved' when the remote moved, keeps the other commit, and fetch then sees the new head", async () => {
    const { bare, head } = await seededRemote({ 'nodes/a.yaml': 'a: 1\n' });
    const repo = await open(bare);
    assert.equal(await repo.fetch('main'), head);

    // Someone else pushes in between.
    const other = await cloneWorkTree(bare);
    cleanups.push(other.cleanup);
    await other.git('checkout', '--quiet', 'main');
    const theirs = await commitFiles(other.dir, { 'nodes/theirs.yaml': 'theirs: 1\n' }, 'their change');
    await other.git('push', '--quiet', 'origin', 'main');

    const ours = await repo.commit(commitInput({ parent: head, writes: new Map([['nodes/ours.yaml', 'ours: 1\n']]) }));
    assert.equal(await repo.push(ours, 'main', head), 'moved');
    assert.equal(await revParse(bare, 'main'), theirs, 'their commit is not overwritten');
    assert.deepEqual(
      await readTree(bare, 'main'),
      new Map([
        ['nodes/a.yaml', 'a: 1\n'],
        ['nodes/theirs.yaml', 'theirs: 1\n'],
      ]),
    );

    assert.equal(await repo.fetch('main'), theirs);
    assert.deepEqual([...(await repo.listTree(theirs, 'nodes')).keys()].sort(), ['nodes/a.yaml', 'nodes/theirs.yaml']);
    // The retry on the new head goes through.
    const retry = await repo.commit(
      commitInput({ parent: theirs, writes: new Map([['nodes/ours.yaml', 'ours: 1\n']]) }),
    );
    assert.equal(await repo.push(retry, 'main', theirs), 'pushed');
    assert.deepEqual([...(await readTree(bare, 'main')).keys()].sort(), [
      'nodes/a.yaml',
      'nodes/ours.yaml',
      'nodes/theirs.yaml',
    ]);
    assert.deepEqual(await logMessages(bare, 'main'), ['lynq: sync', 'their change', 'seed']);
  });

  it("returns 'moved' when the branch was created by someone else after we saw none", async () => {
    const bare = await bareRepo();
    const repo = await open(bare);
    assert.equal(await repo.fetch('main'), undefined);
    const other = await cloneWorkTree(bare);
    cleanups.push(other.cleanup);
    const theirs = await commitFiles(other.dir, { 'x.txt': 'x\n' }, 'theirs');
    await other.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    const ours = await repo.commit(commitInput({ writes: new Map([['y.txt', 'y\n']]) }));
    assert.equal(await repo.push(ours, 'main', undefined), 'moved');
    assert.equal(await revParse(bare, 'main'), theirs);
  });

  it('creates a branch that does not exist yet on push', async () => {
    const { bare, head } = await seededRemote({ 'nodes/a.yaml': 'a: 1\n' });
    const repo = await open(bare);
    assert.equal(await repo.fetch('sync/feature'), undefined);
    await repo.fetch('main');
    const commit = await repo.commit(commitInput({ parent: head, writes: new Map([['nodes/b.yaml', 'b: 2\n']]) }));
    assert.equal(await repo.push(commit, 'sync/feature', undefined), 'pushed');
    assert.equal(await revParse(bare, 'refs/heads/sync/feature'), commit);
    assert.equal(await revParse(bare, 'refs/heads/main'), head, 'main untouched');
    assert.equal(await repo.fetch('sync/feature'), commit);
  });

  it('throws a GitError (not moved) when a hook rejects the push and the remote did not move', async () => {
    const { bare, head } = await seededRemote({ 'nodes/a.yaml': 'a: 1\n' });
    const hook = path.join(bare, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "policy says no" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const repo = await open(bare);
    await repo.fetch('main');
    const commit = await repo.commit(commitInput({ parent: head, writes: new Map([['nodes/b.yaml', 'b: 2\n']]) }));
    await assert.rejects(repo.push(commit, 'main', head), (error: unknown) => {
      assert.ok(error instanceof GitError, `expected a GitError, got ${String(error)}`);
      assert.match(error.message, /pushing to main/);
      assert.match(error.message, /pre-receive hook declined|policy says no/);
      return true;
    });
    assert.equal(await revParse(bare, 'main'), head);
    assert.equal(await commitCount(bare, 'main'), 1);
  });

  it('fails with a GitError when the parent is unknown', async () => {
    const repo = await open(await bareRepo());
    await assert.rejects(
      repo.commit(commitInput({ parent: '0123456789012345678901234567890123456789', writes: new Map([['a', 'b']]) })),
      GitError,
    );
  });
});

describe('wide folders: new folders are built apart and moved into place (fast-import-staging.ts)', () => {
  it('stages the highest new folder of at most 64 files, never an existing one', () => {
    const paths = [
      ...Array.from({ length: 100 }, (_, i) => [
        `nodes/h/web/n${i}/a.yaml`,
        `nodes/h/web/n${i}/levels/0/k.yaml`,
      ]).flat(),
      'nodes/h/web/old/a.yaml',
      'apps/h/web/n0.yaml',
    ];
    const plan = stagingPlan(paths, (folder) => folder !== 'nodes/h/web/old' && folder !== 'apps');
    assert.equal(
      plan.folders.length,
      101,
      'one per new node folder (not nodes/h/web: 200 files; not the existing old), and apps/h',
    );
    assert.deepEqual(plan.folders[0], { folder: 'nodes/h/web/n0', staging: `${STAGING_ROOT}/0/0` });
    assert.deepEqual(plan.folders[99], { folder: 'nodes/h/web/n99', staging: `${STAGING_ROOT}/1/35` });
    assert.equal(plan.stagedPath.get('nodes/h/web/n1/levels/0/k.yaml'), `${STAGING_ROOT}/0/1/levels/0/k.yaml`);
    assert.equal(plan.stagedPath.has('nodes/h/web/old/a.yaml'), false);
    assert.equal(
      plan.stagedPath.get('apps/h/web/n0.yaml'),
      `${STAGING_ROOT}/1/36/web/n0.yaml`,
      'apps exists; apps/h is new and small',
    );
    assert.deepEqual(
      stagingPlan(['a/b.yaml', 'c.yaml'], () => true).folders,
      [{ folder: 'a', staging: `${STAGING_ROOT}/0/0` }],
      'a file at the top is never staged',
    );
  });

  it('builds the very tree git itself builds from the same files: new, existing and wide folders', async () => {
    const seed: Record<string, string> = {
      'nodes/h/web/old/a.yaml': 'old a\n',
      'nodes/h/web/old/b.yaml': 'old b\n',
      'README.md': 'hi\n',
    };
    const { bare, head } = await seededRemote(seed);
    const writes = new Map<string, string>([
      ['nodes/h/web/old/a.yaml', 'new a\n'],
      ['apps/h/web/old.yaml', 'app\n'],
    ]);
    for (let i = 0; i < 150; i++)
      for (const name of ['a.yaml', 'b.yaml', 'levels/0/k.yaml'])
        writes.set(`nodes/h/web/n${String(i).padStart(3, '0')}/${name}`, `${i} ${name}\n`);
    for (let i = 0; i < 80; i++) writes.set(`nodes/h/big/f${i}.yaml`, `${i}\n`);
    const repo = await open(bare);
    await repo.fetch('main');
    const commit = await repo.commit(commitInput({ parent: head, writes, deletes: ['README.md'] }));

    // The same change made by git in a work tree.
    const work = await cloneWorkTree(bare);
    cleanups.push(work.cleanup);
    await work.git('rm', '--quiet', 'README.md');
    await commitFiles(work.dir, Object.fromEntries(writes), 'by git');
    const expected = (await work.git('rev-parse', 'HEAD^{tree}')).trim();
    await repo.push(commit, 'main', head);
    assert.equal((await git(bare, ['rev-parse', 'main^{tree}'])).trim(), expected);
  });

  it('leaves a repository that has a folder of the staging name alone, and stages nothing', async () => {
    const { bare, head } = await seededRemote({ [`${STAGING_ROOT}/0/0/mine.txt`]: 'mine\n' });
    const repo = await open(bare);
    await repo.fetch('main');
    const writes = new Map([
      ['nodes/h/web/n/a.yaml', 'a\n'],
      ['nodes/h/web/n/b.yaml', 'b\n'],
    ]);
    const commit = await repo.commit(commitInput({ parent: head, writes }));
    await repo.push(commit, 'main', head);
    assert.deepEqual(await readTree(bare, 'main'), new Map([[`${STAGING_ROOT}/0/0/mine.txt`, 'mine\n'], ...writes]));
  });
});

describe('storing files ahead of the commit (storeAhead)', () => {
  /** The only clone in a cache folder. */
  async function cloneIn(cacheDir: string): Promise<string> {
    const clones = (await readdir(path.join(cacheDir, 'repos'))).filter((name) => name.endsWith('.git'));
    assert.equal(clones.length, 1);
    return path.join(cacheDir, 'repos', clones[0]!);
  }

  it('makes the very commit a plain commit makes: stored files named, changed or missing ones stored then', async () => {
    const { bare, head } = await seededRemote({ 'nodes/h/web/old/a.yaml': 'old\n' });
    // Over a MiB in all, so the writes also wait for git to read (the queue limit in git.ts).
    const writes = new Map<string, string>();
    for (let i = 0; i < 300; i++) writes.set(`nodes/h/web/n${i}/deploy.yaml`, `n: ${i}\n${'x'.repeat(8000)}\n`);
    writes.set('nodes/h/web/old/a.yaml', 'new\n');
    const input = commitInput({ parent: head, writes, message: 'ahead' });

    const plain = await open(bare);
    await plain.fetch('main');
    const expected = await plain.commit(input);

    const ahead = await open(bare);
    await ahead.fetch('main');
    const entries = [...writes];
    for (let at = 0; at < 280; at += 20) await ahead.storeAhead(entries.slice(at, at + 20));
    // Stored with content that the commit then does not hold: the commit's content wins.
    await ahead.storeAhead([['nodes/h/web/old/a.yaml', 'an earlier plan\n']]);
    // The last 21 files (and that one) are not stored ahead.
    assert.equal(
      await ahead.commit(input),
      expected,
      'same parent, files, author, time and message: the same commit id',
    );
    await ahead.push(expected, 'main', head);
    assert.deepEqual(await readTree(bare, 'main'), new Map([...writes].sort(([a], [b]) => (a < b ? -1 : 1))));
  });

  it('sends what it stores while the caller goes on; close() without a commit ends git cleanly, the clone stays sound', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const cacheDir = await tempDir();
    const repo = await open(bare, cacheDir);
    await repo.fetch('main');
    // More than a group's worth (256 KiB), so most is sent now, not at the commit; the rest when the run ends.
    const files = Array.from({ length: 40 }, (_, i) => [`nodes/f${i}.yaml`, `${i}: ${'y'.repeat(8000)}\n`] as const);
    for (let at = 0; at < files.length; at += 7) await repo.storeAhead(files.slice(at, at + 7));
    await repo.close();
    const clone = await cloneIn(cacheDir);
    for (const [file, content] of files)
      await git(clone, ['cat-file', '-e', gitBlobId(content)]).catch(() => assert.fail(`${file} was not stored`));
    await git(clone, ['fsck', '--no-progress']);
    const again = await open(bare, cacheDir);
    assert.equal(await again.fetch('main'), head);
    const commit = await again.commit(commitInput({ parent: head, writes: new Map([['b.txt', 'b\n']]) }));
    assert.equal(await again.push(commit, 'main', head), 'pushed');
  });

  it('a commit that fails after files were stored ahead is a GitError, and the next one works', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const repo = await open(bare);
    await repo.fetch('main');
    await repo.storeAhead([['a.txt', 'changed\n']]);
    await assert.rejects(
      repo.commit(
        commitInput({ parent: '0123456789012345678901234567890123456789', writes: new Map([['a.txt', 'changed\n']]) }),
      ),
      GitError,
    );
    const commit = await repo.commit(commitInput({ parent: head, writes: new Map([['a.txt', 'changed\n']]) }));
    assert.equal(await repo.push(commit, 'main', head), 'pushed');
    assert.deepEqual(await readTree(bare, 'main'), new Map([['a.txt', 'changed\n']]));
  });
});

describe('cache clone', () => {
  it('packs the clone as git commit would (gc --auto): commits do not pile up packs or loose objects', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const cacheDir = await tempDir();
    const repo = await open(bare, cacheDir);
    await repo.fetch('main');
    const clone = (await readdir(path.join(cacheDir, 'repos'))).map((name) => path.join(cacheDir, 'repos', name))[0]!;
    // Two packs are one too many here; each commit of 150 files makes a pack of its own.
    await git(clone, ['config', 'gc.autoPackLimit', '1']);
    const packs = async () =>
      (await readdir(path.join(clone, 'objects', 'pack'))).filter((name) => name.endsWith('.pack')).length;
    let parent = head;
    for (const round of [1, 2]) {
      const writes = new Map(
        Array.from({ length: 150 }, (_, i) => [`r${round}/f${i}.txt`, `${round} ${i}\n`] as const),
      );
      parent = await repo.commit(commitInput({ parent, writes }));
    }
    assert.equal(await packs(), 1, "the second commit's pack was packed together with the first");
    assert.equal(await repo.push(parent, 'main', head), 'pushed');
    assert.equal((await readTree(bare, 'main')).size, 301);
  });
  it("a commit leaves no ref in the clone: fast-import says its id and drops the branch it built it on (the wide folders' too)", async () => {
    const { bare, head } = await seededRemote({ 'nodes/h/web/old/a.yaml': 'a\n' });
    const cacheDir = await tempDir();
    const repo = await open(bare, cacheDir);
    await repo.fetch('main');
    const clone = path.join(cacheDir, 'repos', (await readdir(path.join(cacheDir, 'repos')))[0]!);
    const small = await repo.commit(
      commitInput({ parent: head, writes: new Map([['nodes/h/web/old/a.yaml', 'b\n']]) }),
    );
    // A form folder of WIDE_AT (500) and more new nodes is written whole, through a second branch of its own
    // (and `git mktree` is given its 1,001 lines in two pieces).
    const writes = new Map(Array.from({ length: 1000 }, (_, i) => [`nodes/h/web/n${i}/a.yaml`, `${i}\n`] as const));
    const wide = await repo.commit(commitInput({ parent: small, writes }));
    for (const commit of [small, wide]) assert.equal((await git(clone, ['cat-file', '-t', commit])).trim(), 'commit');
    assert.equal((await git(clone, ['rev-parse', `${wide}^`])).trim(), small);
    assert.equal(
      (await git(clone, ['for-each-ref', '--format=%(refname)'])).trim(),
      'refs/remotes/origin/main',
      'only the remote-tracking ref',
    );
    assert.equal(await repo.push(wide, 'main', head), 'pushed');
    assert.equal((await readTree(bare, 'main')).size, 1001);
  });

  it("origin's URL: set on the first open, left as it is while the config has it, set again when it was changed", async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const cacheDir = await tempDir();
    const first = await open(bare, cacheDir);
    await first.close();
    const clone = path.join(cacheDir, 'repos', (await readdir(path.join(cacheDir, 'repos')))[0]!);
    assert.equal((await git(clone, ['config', '--get-all', 'remote.origin.url'])).trim(), bare);
    const config = await readFile(path.join(clone, 'config'), 'utf8');
    await (await open(bare, cacheDir)).close();
    assert.equal(
      await readFile(path.join(clone, 'config'), 'utf8'),
      config,
      'an open with the URL in place writes nothing',
    );
    for (const edit of [
      ['config', 'remote.origin.url', '/elsewhere'],
      ['config', '--add', 'remote.origin.url', '/second'],
      ['remote', 'remove', 'origin'],
    ]) {
      await git(clone, edit);
      const repo = await open(bare, cacheDir);
      assert.equal(
        (await git(clone, ['config', '--get-all', 'remote.origin.url'])).trim(),
        bare,
        `after ${edit.join(' ')}`,
      );
      assert.equal(await repo.fetch('main'), head);
      await repo.close();
    }
  });

  it('the head asked of the remote while the clone opens is what the first fetch says; the next asks again, and so does one after another run held the clone', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const cacheDir = await tempDir();
    const withBranch = async () => {
      const repo = await openManifestsRepo({
        url: bare,
        cacheDir,
        logger: silentLogger(),
        registry: new SecretRegistry(),
        branch: 'main',
        lockWaitMs: 30_000,
      });
      cleanups.push(() => repo.close());
      return repo;
    };
    const work = await cloneWorkTree(bare);
    cleanups.push(work.cleanup);
    const pushAnother = async (text: string) => {
      const commit = await commitFiles(work.dir, { 'a.txt': text }, text);
      await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
      return commit;
    };
    // A first run has no clone to ask from: nothing is asked early.
    const first = await withBranch();
    const h1 = await pushAnother('1\n');
    assert.equal(await first.fetch('main'), h1);
    await first.close();

    // The clone exists: the head is asked as the open starts, and the first fetch says it; the next asks again.
    const second = await withBranch();
    assert.equal(await second.fetch('main'), h1);
    const h2 = await pushAnother('2\n');
    assert.equal(await second.fetch('main'), h2, 'a later fetch asks the remote itself');
    assert.notEqual(h2, head);
    await second.close();

    // Another run holds the clone (and may push) while this one waits: the head asked before the wait is not used.
    const held = await acquireCloneLock(path.join(cacheDir, 'locks', `${cloneId(bare)}.lock`), {
      logger: silentLogger(),
    });
    const opening = withBranch();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const h3 = await pushAnother('3\n');
    await held.release();
    assert.equal(await (await opening).fetch('main'), h3);
  });

  it('reuses the cache clone between opens, one folder per repository', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': 'a\n' });
    const second = await seededRemote({ 'b.txt': 'b\n' });
    const cacheDir = await tempDir();
    const first = await open(bare, cacheDir);
    assert.equal(await first.fetch('main'), head);
    await first.close();
    const again = await open(bare, cacheDir);
    // The objects are already there: reading works before any fetch.
    assert.deepEqual([...(await again.listTree(head, 'a.txt')).keys()], ['a.txt']);
    const other = await open(second.bare, cacheDir);
    assert.equal(await other.fetch('main'), second.head);
    const clones = (await readdir(path.join(cacheDir, 'repos'))).filter((name) => name.endsWith('.git'));
    assert.equal(clones.length, 2);
  });

  it('ephemeral mode (no cache folder) leaves no temporary folder after close()', async () => {
    const { bare, head } = await seededRemote({ 'nodes/a.yaml': 'a: 1\n' });
    const isolated = await tempDir();
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = isolated;
    let repo: ManifestsRepo;
    try {
      assert.equal(os.tmpdir(), isolated);
      repo = await openManifestsRepo({
        url: bare,
        cacheDir: undefined,
        logger: silentLogger(),
        registry: new SecretRegistry(),
      });
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    const made = await readdir(isolated);
    assert.equal(made.length, 1, `one temporary clone, saw ${made.join(', ')}`);
    assert.match(made[0]!, /^lynq-repo-/);
    assert.equal(await repo.fetch('main'), head);
    const commit = await repo.commit(commitInput({ parent: head, writes: new Map([['nodes/b.yaml', 'b\n']]) }));
    assert.match(commit, /^[0-9a-f]{40}$/);
    await repo.close();
    assert.deepEqual(await readdir(isolated), []);
    // Nothing was pushed by committing alone.
    assert.equal(await revParse(bare, 'main'), head);
  });
});

describe('regressions', () => {
  it('a remote rewound to an ancestor since our fetch is a race (moved), not overwritten', async () => {
    const { bare, head: h0 } = await seededRemote({ 'a.txt': '0\n' });
    const work = await cloneWorkTree(bare);
    cleanups.push(work.cleanup);
    await commitFiles(work.dir, { 'a.txt': '1\n' }, 'h1');
    await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    const repo = await open(bare);
    const h1 = await repo.fetch('main');
    const ours = await repo.commit(commitInput({ parent: h1, writes: new Map([['b.txt', 'ours\n']]) }));
    await work.git('push', '--quiet', '--force', 'origin', `${h0}:refs/heads/main`);
    assert.equal(await repo.push(ours, 'main', h1), 'moved');
    assert.equal(await revParse(bare, 'main'), h0, 'the rewind is kept');
  });

  it('a deleted branch since our fetch is a race (moved), not recreated', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': '0\n' });
    const repo = await open(bare);
    await repo.fetch('main');
    const ours = await repo.commit(commitInput({ parent: head, writes: new Map([['b.txt', 'ours\n']]) }));
    await git(bare, ['update-ref', '-d', 'refs/heads/main']);
    assert.equal(await repo.push(ours, 'main', head), 'moved');
    assert.equal(await revParse(bare, 'main'), undefined);
  });

  it('commits built at the same time in one process stay apart', async () => {
    const { bare, head } = await seededRemote({ 'a.txt': '0\n' });
    const repo = await open(bare);
    await repo.fetch('main');
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        repo.commit(commitInput({ parent: head, writes: new Map([[`f${i}.txt`, `${i}\n`]]), message: `c${i}` })),
      ),
    );
    assert.equal(new Set(ids).size, 6);
    for (const [i, id] of ids.entries()) {
      const listing = await repo.listTree(id, `f${i}.txt`);
      assert.deepEqual([...listing.keys()], [`f${i}.txt`], `commit ${i} holds its own file`);
      const blobs = await repo.readBlobs([...listing.values()]);
      assert.deepEqual([...blobs.values()], [`${i}\n`]);
    }
  });

  it('a timeout ends a fetch from a server that never answers', { timeout: 60_000 }, async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const repo = await openManifestsRepo({
        url: `http://127.0.0.1:${port}/r.git`,
        cacheDir: await tempDir(),
        logger: silentLogger(),
        registry: new SecretRegistry(),
        timeoutMs: 1000,
      });
      cleanups.push(() => repo.close());
      await assert.rejects(repo.fetch('main'), GitError);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
