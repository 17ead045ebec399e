import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cloneId } from '../src/git/cache-clone.ts';
import { openManifestsRepo, type CommitInput, type ManifestsRepo } from '../src/git/manifests-repo.ts';
import { planWideFolders, type TreeEntry, WIDE_AT, type WideGit, wideFolders } from '../src/git/wide-folders.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { cloneWorkTree, git, makeBareRepo, makeTempDir } from './helpers/git.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const N = WIDE_AT + 100;
const uid = (i: number): string => `n${String(i).padStart(4, '0')}`;

/** The tree git itself makes of these files (path → content; `executable` ones mode 100755), in a work tree of its own. */
async function treeOf(files: ReadonlyMap<string, string>, executable: readonly string[] = []): Promise<string> {
  const work = await makeTempDir('lynq-wide-expected-');
  cleanups.push(work.cleanup);
  await git(work.dir, ['init', '--quiet']);
  for (const [file, content] of files) {
    await mkdir(path.dirname(path.join(work.dir, file)), { recursive: true });
    await writeFile(path.join(work.dir, file), content);
  }
  for (const file of executable) await chmod(path.join(work.dir, file), 0o755);
  await git(work.dir, ['add', '--all']);
  return (await git(work.dir, ['write-tree'])).trim();
}

/** The repository, its bare remote, and its cache clone's folder (for git's own checks of what the bridge wrote). */
async function openRepo(): Promise<{ repo: ManifestsRepo; bare: string; clone: string }> {
  const bare = await makeBareRepo();
  cleanups.push(bare.cleanup);
  const cache = await makeTempDir('lynq-wide-cache-');
  cleanups.push(cache.cleanup);
  const repo = await openManifestsRepo({
    url: bare.dir,
    cacheDir: cache.dir,
    logger: silentLogger(),
    registry: new SecretRegistry(),
  });
  cleanups.push(() => repo.close());
  await repo.fetch('main');
  return { repo, bare: bare.dir, clone: path.join(cache.dir, 'repos', `${cloneId(path.resolve(bare.dir))}.git`) };
}

function input(parent: string | undefined, writes: Map<string, string>, deletes: string[]): CommitInput {
  return {
    parent,
    writes,
    deletes,
    message: 'sync',
    author: { name: 'Lynq', email: 'lynq@example.test' },
    time: 1_700_000_000,
  };
}

/** What planWideFolders needs, through the clone's own git (read only: mktree is not needed to plan these). */
function wideGit(clone: string): WideGit {
  return {
    async lsTree(commit, recursive, prefixes) {
      const listing = await git(clone, [
        'ls-tree',
        ...(recursive ? ['-r'] : []),
        '-z',
        '--full-tree',
        commit,
        '--',
        ...prefixes,
      ]);
      const entries = new Map<string, TreeEntry>();
      for (const entry of listing.split('\0').filter(Boolean)) {
        const [meta, file] = entry.split('\t') as [string, string];
        const [mode, type, id] = meta.split(' ') as [string, string, string];
        entries.set(file, { mode, type, id });
      }
      return entries;
    },
    mktree: async () => '0'.repeat(40),
  };
}

/** A node folder's files, a few in a subfolder (as Flux levels are). */
function nodeFiles(i: number, version: string): Array<[string, string]> {
  const dir = `nodes/hub/web/${uid(i)}`;
  const files: Array<[string, string]> = [
    [`${dir}/web.yaml`, `uid: ${uid(i)}\nversion: ${version}\n`],
    [`${dir}/lynqnode.yaml`, `kind: LynqNode\nuid: ${uid(i)}\n`],
  ];
  if (i % 7 === 0) files.push([`${dir}/levels/1/kustomization.yaml`, `level: 1\nuid: ${uid(i)}\n`]);
  return files;
}

describe('wide folders', () => {
  it('picks folders with at least WIDE_AT changed children, the deepest of nested ones', () => {
    const paths = Array.from({ length: WIDE_AT }, (_, i) => `nodes/hub/web/${uid(i)}/a.yaml`);
    assert.deepEqual(wideFolders(paths), ['nodes/hub/web']);
    assert.deepEqual(wideFolders(paths.slice(1)), []);
    const apps = Array.from({ length: WIDE_AT }, (_, i) => `apps/hub/web/${uid(i)}.yaml`);
    assert.deepEqual(wideFolders([...paths, ...apps]).sort(), ['apps/hub/web', 'nodes/hub/web']);
  });

  it('a commit that changes hundreds of children of a folder gives the very tree git gives, first commit and after', async () => {
    const { repo, clone } = await openRepo();
    const state = new Map<string, string>();
    const writes = new Map<string, string>();
    for (let i = 0; i < N; i++) for (const [file, content] of nodeFiles(i, 'v1')) writes.set(file, content);
    for (let i = 0; i < N; i++) writes.set(`apps/hub/web/${uid(i)}.yaml`, `app: ${uid(i)}\n`);
    writes.set('README.md', 'not under a wide folder\n');
    for (const [file, content] of writes) state.set(file, content);
    const first = await repo.commit(input(undefined, writes, []));
    assert.equal((await repo.readCommit(first)).tree, await treeOf(state));

    // Most nodes change a file, some are removed whole (every file deleted), some are new; apps files removed and changed.
    const changes = new Map<string, string>();
    const deletes: string[] = [];
    for (let i = 0; i < N - 30; i++) changes.set(`nodes/hub/web/${uid(i)}/web.yaml`, `uid: ${uid(i)}\nversion: v2\n`);
    for (let i = N - 30; i < N; i++) for (const [file] of nodeFiles(i, 'v1')) deletes.push(file);
    for (let i = N; i < N + 40; i++) for (const [file, content] of nodeFiles(i, 'v2')) changes.set(file, content);
    for (let i = 0; i < 10; i++) deletes.push(`apps/hub/web/${uid(i)}.yaml`);
    changes.set(`apps/hub/web/${uid(11)}.yaml`, 'app: changed\n');
    changes.set(`nodes/hub/web/${uid(14)}/levels/1/kustomization.yaml`, 'level: 1\nchanged: true\n');
    deletes.push(`nodes/hub/web/${uid(21)}/levels/1/kustomization.yaml`);
    for (const [file, content] of changes) state.set(file, content);
    for (const file of deletes) state.delete(file);
    const plan = await planWideFolders(
      wideGit(clone),
      first,
      wideFolders([...changes.keys(), ...deletes]),
      changes,
      deletes,
    );
    assert.ok(plan !== undefined, 'built whole');
    assert.deepEqual([...plan.replaced.keys()].sort(), ['nodes/hub/web'], 'apps/hub/web has too few changed children');
    assert.equal(plan.rebuilt.length, N - 30 + 40, 'every changed node folder but the removed ones is written apart');
    const second = await repo.commit(input(first, changes, deletes));
    assert.equal((await repo.readCommit(second)).tree, await treeOf(state));
    await git(clone, ['fsck', '--strict', '--no-dangling']);
    assert.equal((await git(clone, ['for-each-ref', 'refs/lynq/'])).trim(), '', 'no staging ref is left');
  });

  it('a folder whose changed children hold a file that is not plain (executable) is changed entry by entry, and keeps its mode', async () => {
    const { repo, bare, clone } = await openRepo();
    const writes = new Map<string, string>();
    for (let i = 0; i < N; i++) writes.set(`nodes/hub/web/${uid(i)}/web.yaml`, 'v: 1\n');
    const first = await repo.commit(input(undefined, writes, []));
    assert.equal(await repo.push(first, 'main', undefined), 'pushed');
    // Someone makes one file executable in Git; the bridge then writes a file beside it in every node.
    const executable = `nodes/hub/web/${uid(3)}/web.yaml`;
    const work = await cloneWorkTree(bare);
    cleanups.push(work.cleanup);
    await chmod(path.join(work.dir, executable), 0o755);
    await work.git('commit', '--quiet', '--all', '-m', 'chmod');
    await work.git('push', '--quiet', 'origin', 'main');
    const head = await repo.fetch('main');
    const changes = new Map(
      Array.from({ length: N }, (_, i) => [`nodes/hub/web/${uid(i)}/extra.yaml`, `extra: ${i}\n`] as const),
    );
    assert.equal(
      await planWideFolders(wideGit(clone), head, ['nodes/hub/web'], changes, []),
      undefined,
      'not built whole',
    );
    const second = await repo.commit(input(head, changes, []));
    const state = new Map([...writes, ...changes]);
    assert.equal((await repo.readCommit(second)).tree, await treeOf(state, [executable]));
  });
});
