/**
 * The commit skips `git gc --auto` when git's own first test says there is nothing to do
 * (src/git/gc-auto.ts). These tests hold that answer against what real git does on the
 * same repository, on both sides of each threshold.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gcMightRun } from '../src/git/gc-auto.ts';
import { gitBlobId } from '../src/render/hash.ts';
import { git, makeBareRepo, testGitEnv } from './helpers/git.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function bareRepo(): Promise<string> {
  const bare = await makeBareRepo();
  cleanups.push(bare.cleanup);
  return bare.dir;
}

/** Texts whose blob ids start with `17` (the fan-out folder git looks at), `count` of them. */
function textsInFanOut17(count: number, salt: string): string[] {
  const texts: string[] = [];
  for (let i = 0; texts.length < count; i++) {
    const text = `${salt} ${i}\n`;
    if (gitBlobId(text).startsWith('17')) texts.push(text);
  }
  return texts;
}

/** Write each text as a loose object, by git; their ids. */
async function writeLoose(repo: string, texts: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const [i, text] of texts.entries()) {
    const file = path.join(repo, `input-${i}.txt`);
    await writeFile(file, text);
    files.push(file);
  }
  return (await git(repo, ['hash-object', '-w', ...files])).trim().split('\n');
}

/** Make the blobs reachable (a tree of them, a commit, main), as a commit's objects are: git gc packs only what a ref reaches. */
async function commitBlobs(repo: string, ids: string[]): Promise<void> {
  const tree = ids.map((id, i) => `100644 blob ${id}\tf${i}`).join('\n');
  const treeId = execFileSync('git', ['mktree'], { cwd: repo, env: testGitEnv(), input: `${tree}\n` })
    .toString()
    .trim();
  const commit = (await git(repo, ['commit-tree', '-m', 'blobs', treeId])).trim();
  await git(repo, ['update-ref', 'refs/heads/main', commit]);
}

/** One more pack holding one new object (git pack-objects, as a fetch or fast-import leaves one). */
function addPack(repo: string, id: string): void {
  execFileSync('git', ['pack-objects', '-q', path.join(repo, 'objects', 'pack', 'pack')], {
    cwd: repo,
    env: testGitEnv(),
    input: `${id}\n`,
  });
}

const gcAuto = (repo: string) => git(repo, ['-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet']);
const looseIn17 = async (repo: string): Promise<number> =>
  (await readdir(path.join(repo, 'objects', '17')).catch(() => [])).length;
const packs = async (repo: string): Promise<number> =>
  (await readdir(path.join(repo, 'objects', 'pack'))).filter((name) => name.endsWith('.pack')).length;

describe('gc --auto, told without git', () => {
  it('a fresh repository: nothing to do, and git agrees', async () => {
    const repo = await bareRepo();
    assert.equal(gcMightRun(repo), false);
    await gcAuto(repo);
    assert.equal(await packs(repo), 0);
  });

  it('up to 27 loose objects in objects/17 git leaves alone, one more and it packs them: told alike', async () => {
    const repo = await bareRepo();
    const texts = textsInFanOut17(28, 'loose');
    const ids = await writeLoose(repo, texts.slice(0, 27));
    await commitBlobs(repo, ids);
    // The tree or the commit may land in objects/17 too: the answer follows the count.
    const before = await looseIn17(repo);
    assert.equal(gcMightRun(repo), before > 27);
    if (before <= 27) {
      await gcAuto(repo);
      assert.equal(await looseIn17(repo), before, 'git did nothing either');
    }
    await commitBlobs(repo, [...ids, ...(await writeLoose(repo, texts.slice(27)))]);
    assert.ok((await looseIn17(repo)) > 27);
    assert.equal(gcMightRun(repo), true);
    await gcAuto(repo);
    assert.equal(await looseIn17(repo), 0, 'git packed them');
  });

  it('50 packs git leaves alone, 51 it packs together: told alike; a kept pack does not count', async () => {
    const repo = await bareRepo();
    const ids = await writeLoose(
      repo,
      Array.from({ length: 51 }, (_, i) => `pack ${i}\n`),
    );
    for (const id of ids.slice(0, 50)) addPack(repo, id);
    assert.equal(await packs(repo), 50);
    assert.equal(gcMightRun(repo), false);
    await gcAuto(repo);
    assert.equal(await packs(repo), 50, 'git did nothing either');
    addPack(repo, ids[50]!);
    assert.equal(gcMightRun(repo), true);
    const [kept] = (await readdir(path.join(repo, 'objects', 'pack'))).filter((name) => name.endsWith('.pack'));
    await writeFile(path.join(repo, 'objects', 'pack', kept!.replace(/\.pack$/, '.keep')), '');
    assert.equal(gcMightRun(repo), false, 'one of the 51 is kept');
    await gcAuto(repo);
    assert.equal(await packs(repo), 51, 'git did nothing either');
    await rm(path.join(repo, 'objects', 'pack', kept!.replace(/\.pack$/, '.keep')));
    assert.equal(gcMightRun(repo), true);
    await gcAuto(repo);
    assert.ok((await packs(repo)) < 51, 'git packed them');
  });

  it('any gc setting in the repository config leaves the answer to git', async () => {
    const repo = await bareRepo();
    await git(repo, ['config', 'gc.auto', '1']);
    assert.equal(gcMightRun(repo), true);
  });

  it('a folder that cannot be read leaves the answer to git', () => {
    assert.equal(gcMightRun('/nonexistent/lynq/clone'), true);
  });
});
