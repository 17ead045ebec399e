import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir } from './helpers/git.ts';

const run = promisify(execFile);

/** A copy of bin/lynq.mjs next to a stand-in dist/ and src/ that say which one ran. */
async function layout(files: { dist: boolean; src: boolean }): Promise<{ dir: string; cleanup(): Promise<void>; touch(file: string, seconds: number): Promise<void> }> {
  const temp = await makeTempDir('lynq-bin-');
  await mkdir(path.join(temp.dir, 'bin'));
  await copyFile('bin/lynq.mjs', path.join(temp.dir, 'bin/lynq.mjs'));
  await symlink(path.resolve('node_modules'), path.join(temp.dir, 'node_modules'));
  await writeFile(path.join(temp.dir, 'package.json'), '{ "type": "module" }\n');
  if (files.dist) {
    await mkdir(path.join(temp.dir, 'dist/cli'), { recursive: true });
    await writeFile(path.join(temp.dir, 'dist/cli/main.js'), "export async function main() { process.stdout.write('compiled\\n'); return 0; }\n");
    await writeFile(path.join(temp.dir, 'dist/.build-stamp'), '');
  }
  if (files.src) {
    await mkdir(path.join(temp.dir, 'src/cli'), { recursive: true });
    // A type annotation: only tsx can run this file.
    await writeFile(path.join(temp.dir, 'src/cli/main.ts'), "export async function main(_argv: string[]): Promise<number> { process.stdout.write('source\\n'); return 0; }\n");
  }
  const touch = async (file: string, seconds: number) => {
    const when = new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
    await utimes(path.join(temp.dir, file), when, when);
  };
  return { ...temp, touch };
}

const lynq = async (dir: string, env: NodeJS.ProcessEnv = {}) => (await run(process.execPath, [path.join(dir, 'bin/lynq.mjs')], { env: { PATH: process.env.PATH, ...env } })).stdout.trim();

test('bin/lynq.mjs runs dist/ when it is newer than every source, the sources through tsx otherwise, and dist/ alone where there are no sources', async () => {
  const both = await layout({ dist: true, src: true });
  const shipped = await layout({ dist: true, src: false });
  const clone = await layout({ dist: false, src: true });
  try {
    await both.touch('src/cli/main.ts', 0);
    await both.touch('dist/.build-stamp', 10);
    assert.equal(await lynq(both.dir), 'compiled', 'a fresh build is used');
    assert.equal(await lynq(both.dir, { LYNQ_FROM_SOURCE: '1' }), 'source', 'LYNQ_FROM_SOURCE=1 forces the sources');
    await both.touch('src/cli/main.ts', 20);
    assert.equal(await lynq(both.dir), 'source', 'an edit after the build runs from source, never a stale build');
    assert.equal(await lynq(shipped.dir), 'compiled', 'the image: dist/ only');
    assert.equal(await lynq(clone.dir), 'source', 'a clone without a build');
  } finally {
    await both.cleanup();
    await shipped.cleanup();
    await clone.cleanup();
  }
});
