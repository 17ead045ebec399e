// @slow: about 18 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GitError } from '../src/errors.ts';
import { openManifestsRepo, type ManifestsRepo, type RepoOptions } from '../src/git/manifests-repo.ts';
import { createLogger, SecretRegistry, silentLogger } from '../src/logger.ts';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http.ts';
import {
  cloneWorkTree,
  commitCount,
  commitFiles,
  git,
  makeBareRepo,
  makeTempDir,
  readTree,
  revParse,
} from './helpers/git.ts';

const TOKEN = `tok_${randomBytes(16).toString('hex')}`;
const AUTHOR = { name: 't', email: 't@e' };

const cleanups: Array<() => Promise<void>> = [];
let root: string;
let server: GitHttpServer;

before(async () => {
  const temp = await makeTempDir('lynq-http-root-');
  cleanups.push(temp.cleanup);
  root = temp.dir;
  server = await startGitHttpServer({ root, token: TOKEN });
  cleanups.push(() => server.close());
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A new empty bare repository served as `<name>`. */
async function servedRepo(name: string): Promise<{ bare: string; url: string }> {
  const bare = await makeBareRepo({ dir: path.join(root, name) });
  return { bare: bare.dir, url: server.url(name) };
}

async function tempDir(): Promise<string> {
  const temp = await makeTempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

async function open(options: Partial<RepoOptions> & { url: string }): Promise<ManifestsRepo> {
  const repo = await openManifestsRepo({
    cacheDir: await tempDir(),
    logger: silentLogger(),
    registry: new SecretRegistry(),
    ...options,
  });
  cleanups.push(() => repo.close());
  return repo;
}

/** Every file under `dir`, recursively. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

/** Requests seen by the server since `from`. */
function since(from: number) {
  return server.requests.slice(from);
}

describe('the test git HTTP server', () => {
  it('asks for credentials, then serves clone and push with the right token only', async () => {
    const { bare, url } = await servedRepo('plain.git');
    const from = server.requests.length;
    // No credentials: 401, and git (no prompts) gives up.
    await assert.rejects(
      git(await tempDir(), ['ls-remote', url]),
      /terminal prompts disabled|Authentication failed|401/,
    );
    assert.ok(since(from).length > 0);
    assert.ok(since(from).every((request) => !request.authorized && request.status === 401));

    // Credentials through the URL here only because this is the server's own test.
    const authed = url.replace('http://', `http://user:${TOKEN}@`);
    const work = await cloneWorkTree(authed);
    cleanups.push(work.cleanup);
    const commit = await commitFiles(work.dir, { 'a.txt': 'a\n' }, 'one');
    await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    assert.equal(await revParse(bare, 'main'), commit);
    assert.ok(
      server.requests.some(
        (request) => request.authorized && request.method === 'POST' && request.path === '/plain.git/git-receive-pack',
      ),
    );
  });

  it('handles chunked request bodies (large push) and gzip request bodies (long fetch negotiation)', async () => {
    const { bare, url } = await servedRepo('big.git');
    const authed = url.replace('http://', `http://user:${TOKEN}@`);
    const from = server.requests.length;
    // Incompressible 3 MB: more than http.postBuffer (1 MB), so git streams it chunked.
    const work = await cloneWorkTree(authed);
    cleanups.push(work.cleanup);
    const big = await commitFiles(work.dir, { 'big.bin': randomBytes(3 * 1024 * 1024).toString('base64') }, 'big');
    await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    assert.equal(await revParse(bare, 'main'), big);
    assert.ok(
      since(from).some((request) => request.path === '/big.git/git-receive-pack' && request.chunked),
      'a chunked push',
    );

    // Many local commits unknown to the server: the "have" lines make a request body
    // large enough for git to gzip it.
    const local = await cloneWorkTree(authed);
    cleanups.push(local.cleanup);
    for (let index = 0; index < 80; index++)
      await local.git('commit', '--quiet', '--allow-empty', '-m', `local ${index}`);
    const remoteChange = await commitFiles(work.dir, { 'small.txt': 'small\n' }, 'small');
    await work.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    const before = server.requests.length;
    await local.git('fetch', '--quiet', 'origin');
    assert.equal((await local.git('rev-parse', 'origin/main')).trim(), remoteChange);
    assert.ok(
      server.requests
        .slice(before)
        .some((request) => request.path === '/big.git/git-upload-pack' && request.contentEncoding === 'gzip'),
      `a gzip fetch request: ${JSON.stringify(server.requests.slice(before))}`,
    );
  });
});

describe('openManifestsRepo over HTTP with a token', () => {
  it('fetches nothing from an empty repository, pushes a commit, and fetches it back', async () => {
    const { bare, url } = await servedRepo('manifests.git');
    const from = server.requests.length;
    const repo = await open({ url, auth: { token: TOKEN } });
    assert.equal(await repo.fetch('main'), undefined);
    const commit = await repo.commit({
      parent: undefined,
      writes: new Map([['nodes/a.yaml', 'x: 1\n']]),
      deletes: [],
      message: 'm',
      author: AUTHOR,
      time: 1700000000,
    });
    assert.equal(await repo.push(commit, 'main', undefined), 'pushed');
    assert.equal(await revParse(bare, 'main'), commit);
    assert.deepEqual(await readTree(bare, 'main'), new Map([['nodes/a.yaml', 'x: 1\n']]));
    assert.equal(await repo.fetch('main'), commit);

    // A second repo object (fresh cache) really fetches the objects over HTTP.
    const fresh = await open({ url, auth: { token: TOKEN } });
    assert.equal(await fresh.fetch('main'), commit);
    const listing = await fresh.listTree(commit, 'nodes');
    assert.deepEqual([...(await fresh.readBlobs([...listing.values()])).values()], ['x: 1\n']);

    const seen = since(from);
    assert.ok(
      seen.some((request) => request.authorized && request.path === '/manifests.git/git-receive-pack'),
      'push went through the server',
    );
    assert.ok(
      seen.some((request) => request.authorized && request.path === '/manifests.git/git-upload-pack'),
      'fetch went through the server',
    );
    assert.ok(seen.every((request) => request.authorized || request.status === 401));
  });

  it("sends the configured user name, and returns 'moved' over HTTP too", async () => {
    const named = await startGitHttpServer({ root, token: TOKEN, username: 'lynq-bot' });
    cleanups.push(() => named.close());
    const { bare } = await servedRepo('named.git');
    const url = named.url('named.git');

    await assert.rejects(
      (await open({ url, auth: { token: TOKEN } })).fetch('main'),
      GitError,
      'the default user name is refused by this server',
    );
    const repo = await open({ url, auth: { token: TOKEN, username: 'lynq-bot' } });
    assert.equal(await repo.fetch('main'), undefined);
    const first = await repo.commit({
      parent: undefined,
      writes: new Map([['a', '1\n']]),
      deletes: [],
      message: 'one',
      author: AUTHOR,
      time: 1,
    });
    assert.equal(await repo.push(first, 'main', undefined), 'pushed');

    const other = await cloneWorkTree(bare);
    cleanups.push(other.cleanup);
    const theirs = await commitFiles(other.dir, { b: '2\n' }, 'theirs');
    await other.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');

    const ours = await repo.commit({
      parent: first,
      writes: new Map([['c', '3\n']]),
      deletes: [],
      message: 'two',
      author: AUTHOR,
      time: 2,
    });
    assert.equal(await repo.push(ours, 'main', first), 'moved');
    assert.equal(await revParse(bare, 'main'), theirs);
    assert.equal(await repo.fetch('main'), theirs);
  });

  it('fails with a GitError that does not contain a wrong token, after 401s', async () => {
    const { bare, url } = await servedRepo('wrong-token.git');
    const seed = await cloneWorkTree(bare);
    cleanups.push(seed.cleanup);
    const head = await commitFiles(seed.dir, { 'a.txt': 'a\n' }, 'seed');
    await seed.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');

    const wrong = `wrong_${randomBytes(16).toString('hex')}`;
    const from = server.requests.length;
    const repo = await open({ url, auth: { token: wrong } });

    const fetchError = await repo.fetch('main').then(
      () => assert.fail('fetch with a wrong token succeeded'),
      (error: unknown) => error,
    );
    assert.ok(fetchError instanceof GitError, String(fetchError));
    assert.ok(!fetchError.message.includes(wrong), fetchError.message);
    assert.ok(!fetchError.message.includes(TOKEN));

    const commit = await repo.commit({
      parent: undefined,
      writes: new Map([['b.txt', 'b\n']]),
      deletes: [],
      message: 'x',
      author: AUTHOR,
      time: 1,
    });
    const pushError = await repo.push(commit, 'main', head).then(
      (outcome) => assert.fail(`push with a wrong token returned ${outcome}`),
      (error: unknown) => error,
    );
    assert.ok(pushError instanceof GitError, String(pushError));
    assert.ok(!pushError.message.includes(wrong), pushError.message);
    assert.ok(!String((pushError as Error).stack).includes(wrong));

    const seen = since(from);
    assert.ok(seen.filter((request) => request.status === 401).length >= 2, 'credentials were asked for and refused');
    assert.ok(seen.every((request) => !request.authorized));
    assert.equal(await revParse(bare, 'main'), head);
    assert.equal(await commitCount(bare, 'main'), 1);
  });

  // A prompt would wait forever: the test's own timeout catches that; no clock is read.
  it('fails fast, without prompting, when no token is configured', { timeout: 120_000 }, async () => {
    const { url } = await servedRepo('no-token.git');
    const repo = await open({ url });
    await assert.rejects(repo.fetch('main'), (error: unknown) => {
      assert.ok(error instanceof GitError, String(error));
      // git's own wording when GIT_TERMINAL_PROMPT=0 stopped it from asking (no terminal prompt, no hang).
      assert.match(error.message, /terminal prompts disabled/);
      return true;
    });
    const commit = await repo.commit({
      parent: undefined,
      writes: new Map([['a', 'a']]),
      deletes: [],
      message: 'x',
      author: AUTHOR,
      time: 1,
    });
    await assert.rejects(repo.push(commit, 'main', undefined), GitError);
  });

  it('never writes the token into the cache clone, its remote URL or the logs', async () => {
    const { url } = await servedRepo('secret.git');
    const cacheDir = await tempDir();
    const registry = new SecretRegistry();
    let logged = '';
    const destination = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        logged += chunk.toString();
        callback();
      },
    });
    const logger = createLogger({ destination, registry, level: 'debug' });
    const repo = await openManifestsRepo({ url, cacheDir, logger, registry, auth: { token: TOKEN } });
    cleanups.push(() => repo.close());
    assert.equal(await repo.fetch('main'), undefined);
    const commit = await repo.commit({
      parent: undefined,
      writes: new Map([['nodes/a.yaml', 'x: 1\n']]),
      deletes: [],
      message: 'm',
      author: AUTHOR,
      time: 1700000000,
    });
    assert.equal(await repo.push(commit, 'main', undefined), 'pushed');
    assert.equal(await repo.fetch('main'), commit);

    // Files of the cache clone: config first, then everything else.
    const clones = (await readdir(path.join(cacheDir, 'repos'))).filter((name) => name.endsWith('.git'));
    assert.equal(clones.length, 1);
    const clone = path.join(cacheDir, 'repos', clones[0]!);
    const config = await readFile(path.join(clone, 'config'), 'utf8');
    assert.ok(config.includes(url), 'the remote is configured');
    assert.ok(!config.includes(TOKEN), 'no token in config');
    for (const file of await allFiles(cacheDir)) assert.ok(!(await readFile(file)).includes(TOKEN), `token in ${file}`);

    const remoteUrl = (await git(clone, ['config', '--get', 'remote.origin.url'])).trim();
    assert.equal(remoteUrl, url);
    assert.ok(!remoteUrl.includes(TOKEN));
    assert.ok(!(await git(clone, ['remote', '-v'])).includes(TOKEN));

    // A failure over the same repository object, logged as the CLI would.
    const error = await repo.fetch('does-not-matter').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.equal(error, undefined, 'a missing branch is not an error');
    const wrongRepo = await openManifestsRepo({
      url: server.url('missing.git'),
      cacheDir,
      logger,
      registry,
      auth: { token: TOKEN },
    });
    cleanups.push(() => wrongRepo.close());
    const failure = await wrongRepo.fetch('main').then(
      () => assert.fail('fetching a missing repository succeeded'),
      (caught: unknown) => caught,
    );
    assert.ok(failure instanceof GitError);
    logger.error({ err: failure }, 'git failed');
    logger.error({ error: failure, message: failure.message }, 'git failed again');
    // The git layer registered the token: even a careless log line does not leak it.
    logger.warn({ url, token: TOKEN, nested: { list: [TOKEN] } }, `careless ${TOKEN}`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(logged, /git failed/);
    assert.match(logged, /careless \[redacted\]/);
    assert.ok(!logged.includes(TOKEN), logged);
  });
});
