import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GitError } from '../src/errors.ts';
import { FastImport } from '../src/git/fast-import.ts';
import { startGit } from '../src/git/git.ts';
import { openManifestsRepo } from '../src/git/manifests-repo.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { makeTempDir } from './helpers/git.ts';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/**
 * A remote that accepts the connection, reads git's first request and never answers
 * (a stuck proxy, a server under load). It expects exactly one kind of request, git's
 * ref discovery, and fails the test on anything else.
 */
async function silentRemote(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk) => requests.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const request of requests)
      assert.match(
        request,
        /^GET \/manifests\.git\/info\/refs\?service=git-upload-pack HTTP\/1\.1$/,
        'an unexpected request',
      );
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/manifests.git`, requests };
}

async function cacheDir(): Promise<string> {
  const temp = await makeTempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

/** git processes still running whose command line names `url` (a helper left behind would hold the pipes). */
async function gitProcessesFor(url: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((line) => line.includes(url) && /git/.test(line));
}

describe('git commands that hang', () => {
  it('give up after the timeout, naming the command, the remote and that it timed out; no git process is left', async () => {
    const remote = await silentRemote();
    const repo = await openManifestsRepo({
      url: remote.url,
      cacheDir: await cacheDir(),
      logger: silentLogger(),
      registry: new SecretRegistry(),
      timeoutMs: 1000,
    });
    cleanups.push(() => repo.close());
    await assert.rejects(repo.fetch('main'), (error: unknown) => {
      assert.ok(error instanceof GitError, String(error));
      assert.equal(error.message, `reading ${remote.url}: git ls-remote timed out after 1 s`);
      return true;
    });
    assert.equal(remote.requests.length, 1);
    assert.deepEqual(await gitProcessesFor(remote.url), [], 'the process group (git and git-remote-http) was killed');
  });

  it('an AbortSignal cancels a command in flight, and its whole process group', async () => {
    const remote = await silentRemote();
    const controller = new AbortController();
    const repo = await openManifestsRepo({
      url: remote.url,
      cacheDir: await cacheDir(),
      logger: silentLogger(),
      registry: new SecretRegistry(),
      signal: controller.signal,
    });
    cleanups.push(() => repo.close());
    const fetching = repo.fetch('main');
    // Cancel once git is waiting on the remote.
    while (remote.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await assert.rejects(
      fetching,
      (error: unknown) =>
        error instanceof GitError && error.message === `reading ${remote.url}: git ls-remote was cancelled`,
    );
    assert.deepEqual(await gitProcessesFor(remote.url), []);
  });

  it('an AbortSignal that has fired already starts nothing that waits', async () => {
    const remote = await silentRemote();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      openManifestsRepo({
        url: remote.url,
        cacheDir: await cacheDir(),
        logger: silentLogger(),
        registry: new SecretRegistry(),
        signal: controller.signal,
      }),
      (error: unknown) =>
        error instanceof GitError && /cancelled while waiting for the cache clone/.test(error.message),
    );
    assert.equal(remote.requests.length, 0);
  });
});

describe('a fed command’s timeout', () => {
  // A git alias that reads its input, then works for 2 s: the timeout (1 s) runs from end().
  const slow = ['-c', 'alias.slow=!cat >/dev/null; sleep 2', 'slow'];

  it('kills a command past its timeout, and says after how long', async () => {
    const dir = await cacheDir();
    const result = await startGit(dir, slow, { registry: new SecretRegistry(), timeoutMs: 1000 }).end(['input\n']);
    assert.equal(result.timedOutAfterSeconds, 1);
    assert.notEqual(result.code, 0);
  });

  it('gives the end of a big input the extra time asked for (a fast-import commit of many files)', async () => {
    const dir = await cacheDir();
    const result = await startGit(dir, slow, { registry: new SecretRegistry(), timeoutMs: 1000 }).end(
      ['input\n'],
      10_000,
    );
    assert.equal(result.timedOutAfterSeconds, undefined);
    assert.equal(result.code, 0);
  });
});

describe('a fast-import commit', () => {
  it('asks for extra time by the number of files it writes', async () => {
    const asked: Array<number | undefined> = [];
    const git = {
      write: async () => undefined,
      end: async (_input?: unknown, extraMs?: number) => (
        asked.push(extraMs), { stdout: Buffer.alloc(0), stderr: '', code: 0, command: 'fast-import' }
      ),
    };
    const writes = new Map(Array.from({ length: 2500 }, (_, i) => [`nodes/h/f/n${i}/a.yaml`, `${i}\n`] as const));
    await new FastImport(git).commit(
      { parent: undefined, writes, deletes: [], message: 'm', author: { name: 'a', email: 'a@b' }, time: 0 },
      'refs/x',
      { stagedPath: new Map(), folders: [] },
    );
    assert.deepEqual(asked, [2500]);
  });
});
