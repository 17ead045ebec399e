import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GitError } from '../src/errors.ts';
import { runGit, type RunResult } from '../src/git/git.ts';
import { commitsContaining, type GitRunner, walkNodeCommits } from '../src/git/node-commits.ts';
import { sameJson } from '../src/health/lynqnode-status.ts';
import { SecretRegistry } from '../src/logger.ts';
import { commitFiles, makeTempDir, git } from './helpers/git.ts';

describe('the git side of the read-back: last commit per node, and which commits an engine revision contains', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let first: string;
  let other: string;
  let second: string;
  const calls: string[][] = [];
  const run: GitRunner = (args) => {
    calls.push([...args]);
    return runGit(dir, args, { registry: new SecretRegistry() });
  };

  before(async () => {
    ({ dir, cleanup } = await makeTempDir());
    await git(dir, ['init', '--quiet', '--initial-branch=main']);
    await git(dir, ['config', 'user.name', 'Test']);
    await git(dir, ['config', 'user.email', 'test@example.test']);
    first = await commitFiles(
      dir,
      { 'nodes/shop/web/acme/lynqnode.yaml': 'a: 1\n', 'nodes/shop/web/globex/lynqnode.yaml': 'a: 1\n' },
      'both',
    );
    other = await commitFiles(dir, { 'nodes/other/web/x/lynqnode.yaml': 'a: 1\n' }, 'another hub');
    second = await commitFiles(dir, { 'nodes/shop/web/globex/lynqnode.yaml': 'a: 2\n' }, 'globex (#7)');
  });
  after(() => cleanup());

  test('one git log walk finds each node folder’s last commit and the pull request of a squash subject', async () => {
    calls.length = 0;
    const commits = (await walkNodeCommits(run, second, 'nodes/shop')).last;
    assert.deepEqual(
      [...commits].map(([key, commit]) => [key, commit.commit, commit.pullRequest]),
      [
        ['web/globex', second, 7],
        ['web/acme', first, undefined],
      ],
    );
    assert.equal(calls.length, 1);
  });

  test('one git process per engine revision: the hub’s commits it contains', async () => {
    calls.length = 0;
    const containing = await commitsContaining(run, [second, first, second], 'nodes/shop');
    assert.deepEqual(containing.get(second), new Set([second, first]));
    assert.deepEqual(containing.get(first), new Set([first]));
    assert.ok(!containing.get(second)!.has(other), 'another hub’s commit is not listed');
    assert.deepEqual(
      calls.map((args) => args[0]),
      ['rev-list', 'rev-list'],
    );
  });

  test('the commit walk of a head lists what rev-list would for it: an engine at that head costs no git process', async () => {
    calls.length = 0;
    const walked = await walkNodeCommits(run, second, 'nodes/shop');
    const asked = await commitsContaining(run, [second], 'nodes/shop');
    assert.deepEqual(walked.all, asked.get(second));
    calls.length = 0;
    const containing = await commitsContaining(run, [second, first], 'nodes/shop', new Map([[second, walked.all]]));
    assert.deepEqual(containing.get(second), new Set([second, first]));
    assert.deepEqual(containing.get(first), new Set([first]));
    assert.deepEqual(
      calls.map((args) => args.slice(0, 3)),
      [['rev-list', '--full-history', first]],
    );
  });

  test('a pull request merged with a merge commit: the merge is the node’s last commit (its time, its number), seen when the merged commit was written', async () => {
    const at = (seconds: number) => ({ GIT_AUTHOR_DATE: `@${seconds} +0000`, GIT_COMMITTER_DATE: `@${seconds} +0000` });
    await git(dir, ['checkout', '--quiet', '-b', 'lynq/shop', second]);
    await commitFiles(
      dir,
      { 'nodes/shop/web/acme/lynqnode.yaml': 'a: 3\n' },
      'lynq: shop: 1 node updated',
      at(1_800_000_000),
    );
    const proposed = (await git(dir, ['rev-parse', 'HEAD'])).trim();
    await git(dir, ['checkout', '--quiet', 'main']);
    const direct = await commitFiles(
      dir,
      { 'nodes/shop/web/globex/lynqnode.yaml': 'a: 4\n' },
      'globex by hand',
      at(1_800_000_100),
    );
    await git(dir, ['merge', '--quiet', '--no-ff', 'lynq/shop', '-m', 'Merge pull request #12 from acme/lynq/shop'], {
      env: at(1_800_003_600),
    });
    const merge = (await git(dir, ['rev-parse', 'HEAD'])).trim();
    const { last, all } = await walkNodeCommits(run, merge, 'nodes/shop');
    assert.deepEqual(last.get('web/acme'), {
      commit: merge,
      time: 1_800_003_600,
      authorTime: 1_800_000_000,
      pullRequest: 12,
      merged: proposed,
    });
    assert.deepEqual(last.get('web/globex'), {
      commit: direct,
      time: 1_800_000_100,
      authorTime: 1_800_000_100,
      pullRequest: undefined,
    });
    // What rev-list lists for the merge (an engine at it): the merge and the commit it brought in.
    assert.deepEqual(all, (await commitsContaining(run, [merge], 'nodes/shop')).get(merge));
    assert.ok(all.has(merge) && all.has(proposed));
  });

  test('a revision the clone does not have contains nothing known; any other git failure is a GitError', async () => {
    const unknown = 'f'.repeat(40);
    calls.length = 0;
    const containing = await commitsContaining(run, [unknown], 'nodes/shop');
    assert.ok(containing.has(unknown));
    assert.equal(containing.get(unknown), undefined);
    assert.deepEqual(
      calls.map((args) => args[0]),
      ['rev-list', 'cat-file'],
    );
    const failing: GitRunner = async (args) =>
      args[0] === 'rev-list'
        ? ({ stdout: Buffer.alloc(0), stderr: 'fatal: out of memory', code: 128 } satisfies RunResult)
        : run(args);
    await assert.rejects(commitsContaining(failing, [second], 'nodes/shop'), GitError);
  });
});

test('sameJson: equal as JSON, whatever the key order; keys holding undefined do not count', () => {
  assert.ok(
    sameJson({ a: 1, b: [{ x: 'y', z: undefined }], c: { d: null } }, { c: { d: null }, b: [{ x: 'y' }], a: 1 }),
  );
  assert.ok(!sameJson({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!sameJson({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(!sameJson({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!sameJson({ a: [1] }, { a: { 0: 1 } }));
  assert.ok(!sameJson({ a: '1' }, { a: 1 }));
  assert.ok(!sameJson({ a: null }, { a: {} }));
  assert.ok(!sameJson({ a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }));
});
