import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitError as SimpleGitError } from 'simple-git';
import { GitError } from '../src/errors.ts';
import { gitFailure, gitText, runGit, type GitOptions, type RunResult } from '../src/git/git.ts';
import { nodeHistory } from '../src/git/history.ts';
import { SecretRegistry } from '../src/logger.ts';
import { cloneWorkTree, commitFiles, git, makeBareRepo, makeTempDir } from './helpers/git.ts';

/**
 * git runs two ways (git.ts): simple-git for local commands that print text (gitText), the
 * streaming runner for the rest (runGit). A user must not be able to tell which: the same
 * command, timing out, cancelled or failing, gives the same GitError either way.
 */
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

let repo: string;
let slowRepo: string;
const NODE = { hub: 'h', form: 'customers', uid: 'c1' };

before(async () => {
  const bare = await makeBareRepo();
  cleanups.push(bare.cleanup);
  const work = await cloneWorkTree(bare.dir);
  cleanups.push(work.cleanup);
  await commitFiles(work.dir, { 'a.yaml': 'one\n' }, 'first');
  await commitFiles(work.dir, { 'a.yaml': 'two\n' }, 'second');
  await work.git('push', '--quiet', 'origin', 'main');
  repo = bare.dir;
  // A copy whose diffs go through a textconv that takes 3 s: `git log --patch` hangs there (local, no remote).
  const slow = await makeTempDir('lynq-slow-');
  cleanups.push(slow.cleanup);
  slowRepo = path.join(slow.dir, 'slow.git');
  await git(slow.dir, ['clone', '--quiet', '--bare', repo, slowRepo]);
  const script = path.join(slow.dir, 'slow-textconv.sh');
  await writeFile(script, '#!/bin/sh\nsleep 3\ncat "$1"\n');
  await chmod(script, 0o755);
  await writeFile(path.join(slowRepo, 'info', 'attributes'), '*.yaml diff=slow\n');
  await git(slowRepo, ['config', 'diff.slow.textconv', script]);
});

const LOG = ['log', '--patch', '--format=%H', 'main', '--', 'a.yaml'];

function options(extra: Partial<GitOptions> = {}): GitOptions {
  return { registry: new SecretRegistry(), ...extra };
}

/** The same command through both paths, failing with the same action. */
async function bothWays(
  dir: string,
  args: readonly string[],
  make: () => GitOptions,
  action: string,
): Promise<{ text: RunResult; runner: RunResult; messages: [string, string] }> {
  const text = await gitText(dir, args, make());
  const runner = await runGit(dir, args, make());
  return { text, runner, messages: [gitFailure(action, text).message, gitFailure(action, runner).message] };
}

describe('one way to run git: simple-git (gitText) and the streaming runner (runGit) behave alike', () => {
  it('the same output for the same command', async () => {
    const { text, runner } = await bothWays(repo, ['log', '--patch', '--format=%H%x1f%s', 'main'], options, 'x');
    assert.equal(text.code, 0);
    assert.equal(runner.code, 0);
    assert.ok(text.stdout.length > 0);
    assert.deepEqual(text.stdout, runner.stdout);
  });

  it('a command that takes too long gives up after the total time, saying which command and after how long', async () => {
    const { text, runner, messages } = await bothWays(
      slowRepo,
      LOG,
      () => options({ timeoutMs: 1000 }),
      'reading the history of a.yaml',
    );
    assert.equal(text.timedOutAfterSeconds, 1);
    assert.equal(runner.timedOutAfterSeconds, 1);
    assert.deepEqual(messages, [
      'reading the history of a.yaml: git log timed out after 1 s',
      'reading the history of a.yaml: git log timed out after 1 s',
    ]);
    // simple-git's own error is kept as the cause, ours is the GitError.
    assert.ok(text.cause instanceof SimpleGitError);
    assert.ok(gitFailure('x', text).cause instanceof SimpleGitError);
  });

  it('the real caller (lynq history) times out through simple-git with the same message', async () => {
    await assert.rejects(
      nodeHistory(slowRepo, {
        ...options({ timeoutMs: 1000 }),
        head: 'main',
        paths: ['a.yaml'],
        node: NODE,
        patch: true,
      }),
      (error: unknown) => {
        assert.ok(error instanceof GitError, String(error));
        assert.equal(error.message, 'reading the history of a.yaml: git log timed out after 1 s');
        return true;
      },
    );
  });

  it('an AbortSignal cancels a command in flight either way', async () => {
    const cancelled = (): GitOptions => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      return options({ signal: controller.signal });
    };
    const { text, runner, messages } = await bothWays(slowRepo, LOG, cancelled, 'reading');
    assert.equal(text.aborted, true);
    assert.equal(runner.aborted, true);
    assert.equal(text.timedOutAfterSeconds, undefined);
    assert.deepEqual(messages, ['reading: git log was cancelled', 'reading: git log was cancelled']);
  });

  it('a signal that has fired already runs nothing either way', async () => {
    const controller = new AbortController();
    controller.abort();
    const { messages } = await bothWays(repo, ['log', 'main'], () => options({ signal: controller.signal }), 'reading');
    assert.deepEqual(messages, ['reading: git log was cancelled', 'reading: git log was cancelled']);
  });

  it('a failing command gives the same exit code and message', async () => {
    const { text, runner, messages } = await bothWays(
      repo,
      ['rev-parse', '--verify', 'no-such-branch'],
      options,
      'reading no-such-branch',
    );
    assert.equal(text.code, 128);
    assert.equal(runner.code, 128);
    assert.equal(messages[0], messages[1]);
    assert.equal(messages[0], 'reading no-such-branch failed: fatal: Needed a single revision');
  });

  it('a silent non-zero exit fails through simple-git too (its default would let it pass)', async () => {
    const id = (await git(repo, ['rev-parse', 'main'])).trim();
    const missing = `${id.slice(0, -4)}0000`;
    const { text, runner } = await bothWays(repo, ['cat-file', '-e', missing], options, 'x');
    assert.equal(runner.code, 1);
    assert.equal(text.code, 1);
  });
});
