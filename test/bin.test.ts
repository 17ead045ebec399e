import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir } from './helpers/git.ts';

const run = promisify(execFile);

/** A copy of bin/lynq.mjs next to a stand-in dist/ and src/ that say which one ran. */
async function layout(files: {
  dist: boolean;
  src: boolean;
}): Promise<{ dir: string; cleanup(): Promise<void>; touch(file: string, seconds: number): Promise<void> }> {
  const temp = await makeTempDir('lynq-bin-');
  await mkdir(path.join(temp.dir, 'bin'));
  await copyFile('bin/lynq.mjs', path.join(temp.dir, 'bin/lynq.mjs'));
  await symlink(path.resolve('node_modules'), path.join(temp.dir, 'node_modules'));
  await writeFile(path.join(temp.dir, 'package.json'), '{ "type": "module" }\n');
  if (files.dist) {
    await mkdir(path.join(temp.dir, 'dist/cli'), { recursive: true });
    // What the bundle is (scripts/build.ts): CommonJS, given import.meta's parts by bin/lynq.mjs.
    await writeFile(
      path.join(temp.dir, 'dist/cli/lynq.cjs'),
      "exports.main = async () => { process.stdout.write(`compiled ${new URL('../version.js', __lynqBundleUrl).pathname.endsWith('/dist/version.js')} ${(await __lynqImport('node:path')).sep}\\n`); return 0; };\n",
    );
    await writeFile(path.join(temp.dir, 'dist/.build-stamp'), '0123456789abcdef0123\n');
  }
  if (files.src) {
    await mkdir(path.join(temp.dir, 'src/cli'), { recursive: true });
    // A type annotation: only tsx can run this file.
    await writeFile(
      path.join(temp.dir, 'src/cli/main.ts'),
      "export async function main(_argv: string[]): Promise<number> { process.stdout.write('source\\n'); return 0; }\n",
    );
  }
  const touch = async (file: string, seconds: number) => {
    const when = new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
    await utimes(path.join(temp.dir, file), when, when);
  };
  return { ...temp, touch };
}

const lynq = async (dir: string, env: NodeJS.ProcessEnv = {}) =>
  (
    await run(process.execPath, [path.join(dir, 'bin/lynq.mjs')], { env: { PATH: process.env.PATH, ...env } })
  ).stdout.trim();

test('bin/lynq.mjs runs dist/ when it is newer than every source, the sources through tsx otherwise, and dist/ alone where there are no sources', async () => {
  const both = await layout({ dist: true, src: true });
  const shipped = await layout({ dist: true, src: false });
  const clone = await layout({ dist: false, src: true });
  try {
    await both.touch('src/cli/main.ts', 0);
    await both.touch('dist/.build-stamp', 10);
    assert.equal(await lynq(both.dir), 'compiled true /', 'a fresh build is used');
    assert.equal(await lynq(both.dir, { LYNQ_FROM_SOURCE: '1' }), 'source', 'LYNQ_FROM_SOURCE=1 forces the sources');
    await both.touch('src/cli/main.ts', 20);
    assert.equal(await lynq(both.dir), 'source', 'an edit after the build runs from source, never a stale build');
    assert.equal(await lynq(shipped.dir), 'compiled true /', 'the image: dist/ only');
    assert.equal(await lynq(clone.dir), 'source', 'a clone without a build');
  } finally {
    await both.cleanup();
    await shipped.cleanup();
    await clone.cleanup();
  }
});

test("bin/lynq.mjs keeps V8's code for the bundle in the cache folder, one file per build, and runs without it when it cannot be written or does not fit", async () => {
  const shipped = await layout({ dist: true, src: false });
  const cacheDir = path.join(shipped.dir, 'cache');
  const env = { LYNQ_CACHE_DIR: cacheDir };
  const kept = async () => (await readdir(path.join(cacheDir, 'code-cache')).catch(() => [] as string[])).sort();
  try {
    assert.equal(await lynq(shipped.dir, env), 'compiled true /');
    const [first, ...more] = await kept();
    assert.match(
      first ?? '',
      new RegExp(
        `^lynq-0123456789abcdef-[0-9a-f]{12}-node${process.version.replaceAll('.', '\\.')}-${process.arch}\\.v8$`,
      ),
      'named by the build, the checkout and the Node that made it',
    );
    assert.deepEqual(more, []);
    const file = path.join(cacheDir, 'code-cache', first!);
    const code = await readFile(file);
    assert.ok(code.length > 0);
    const past = new Date(Date.UTC(2026, 0, 1));
    await utimes(file, past, past);
    assert.equal(await lynq(shipped.dir, env), 'compiled true /');
    assert.equal((await stat(file)).mtimeMs, past.getTime(), 'a cache that fits is read, not written again');

    await writeFile(file, 'not V8 code');
    assert.equal(await lynq(shipped.dir, env), 'compiled true /', 'a cache V8 rejects is only slower');
    const again = await readFile(file);
    assert.ok(again.length > 0 && !again.equals(Buffer.from('not V8 code')), 'and is written again');

    await writeFile(path.join(shipped.dir, 'dist/.build-stamp'), 'fedcba9876543210fedc\n');
    assert.equal(await lynq(shipped.dir, env), 'compiled true /');
    assert.deepEqual(
      await kept(),
      [first!.replace('0123456789abcdef', 'fedcba9876543210')],
      "a new build's cache replaces the old one",
    );

    if (process.getuid?.() !== 0) {
      await chmod(path.join(cacheDir, 'code-cache'), 0o500);
      await writeFile(path.join(shipped.dir, 'dist/.build-stamp'), '1111111111111111\n');
      assert.equal(await lynq(shipped.dir, env), 'compiled true /', 'a cache folder it cannot write to');
    }
    assert.equal(
      await lynq(shipped.dir, { LYNQ_CACHE_DIR: '/dev/null/cache' }),
      'compiled true /',
      'a cache folder that cannot exist',
    );
  } finally {
    await chmod(path.join(cacheDir, 'code-cache'), 0o700).catch(() => {});
    await shipped.cleanup();
  }
});

test('two checkouts sharing one cache folder keep a code cache each, and a stack trace names the checkout that runs', async () => {
  const one = await layout({ dist: true, src: false });
  const two = await layout({ dist: true, src: false });
  const shared = await makeTempDir('lynq-bin-cache-');
  const env = { LYNQ_CACHE_DIR: shared.dir };
  try {
    // The same build in both (the same stamp and bundle), as two clones of one commit are.
    const bundle =
      "exports.main = async () => { process.stdout.write(`${new Error('where').stack.split('\\n')[1].trim()}\\n`); return 0; };\n";
    for (const dir of [one.dir, two.dir]) await writeFile(path.join(dir, 'dist/cli/lynq.cjs'), bundle);
    for (const round of [1, 2]) {
      for (const dir of [one.dir, two.dir])
        assert.match(
          await lynq(dir, env),
          new RegExp(`${dir.replaceAll('/', '\\/')}\\/dist\\/cli\\/lynq\\.cjs`),
          `round ${round}: the stack names ${dir}`,
        );
    }
    assert.equal(
      (await readdir(path.join(shared.dir, 'code-cache'))).length,
      2,
      'one cache per checkout, neither removing the other',
    );
  } finally {
    await one.cleanup();
    await two.cleanup();
    await shared.cleanup();
  }
});

test('a reader that is gone (lynq --help | head -1, or a closed pipe) ends lynq quietly, exit 0, not with an unhandled EPIPE', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/lynq.mjs', '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LYNQ_LOG_LEVEL: 'silent' },
  });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk));
  // As a reader that is gone before the help is written: the pipe is closed at once, so every write meets EPIPE.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|Unhandled/);
});
