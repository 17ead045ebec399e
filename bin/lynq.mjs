#!/usr/bin/env node
// The published `lynq` (the image, a packed tarball) runs the compiled JavaScript in dist/:
// nothing is compiled at start-up. In a clone, dist/ is used only while it is newer than
// every file in src/ (`npm run build` makes it, and `npm ci` runs that through `prepare`);
// otherwise, or with LYNQ_FROM_SOURCE=1, the TypeScript sources run through tsx, so an
// edit takes effect at once and stack traces point at the .ts files people read.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const bundleUrl = new URL('../dist/cli/lynq.cjs', import.meta.url);
const stampUrl = new URL('../dist/.build-stamp', import.meta.url);
const sources = new URL('../src/', import.meta.url);

function distIsCurrent() {
  if (process.env.LYNQ_FROM_SOURCE === '1' || !existsSync(bundleUrl)) return false;
  if (!existsSync(sources)) return true;
  const built = statSync(stampUrl, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

/**
 * Where V8's compiled code for this build is kept between runs: the bridge's cache folder
 * (src/git/manifests-repo.ts defaultCacheDir: the CronJob's cache volume), one file per
 * build and Node version. Compiling the bundle is most of a cold start; with the code
 * V8 kept, a start skips it (Node 22's module compile cache does this; Node 20 has none).
 */
function codeCacheFile() {
  const cacheDir =
    process.env.LYNQ_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lynq');
  const build = readFileSync(stampUrl, 'utf8').trim().slice(0, 16) || 'unstamped';
  return path.join(cacheDir, 'code-cache', `lynq-${build}-${checkoutTag()}-node${process.version}-${process.arch}.v8`);
}

/**
 * Which installation runs (the bundle's path, hashed): V8's cached code carries the path it
 * was compiled from, so two checkouts sharing one cache folder each keep their own, and a
 * stack trace names the checkout that is running, not whichever wrote the cache first.
 */
function checkoutTag() {
  return createHash('sha256').update(fileURLToPath(bundleUrl)).digest('hex').slice(0, 12);
}

/**
 * Run dist/cli/lynq.cjs as Node would run a CommonJS module, but compiled through
 * vm.Script so that V8's code can be kept. The wrapper gives the bundle what its ES
 * modules asked of import.meta (scripts/build.ts).
 */
async function runCompiled(args) {
  const file = fileURLToPath(bundleUrl);
  const cacheFile = codeCacheFile();
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {}
  // One line: the bundle's line numbers stay those of its stack traces. Latin1: the build
  // leaves only ASCII in it (scripts/build.ts), and decoding 4 MB as UTF-8 costs ~50 ms.
  const wrapper = `(function (exports, require, module, __filename, __dirname, __lynqBundleUrl, __lynqResolve, __lynqImport) {"use strict";${readFileSync(file, 'latin1')}\n})`;
  const script = new vm.Script(wrapper, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
    bundleUrl.href,
    (name) => import.meta.resolve(name),
    (name) => import(name),
  );
  const code = await module.exports.main(args);
  if (cachedData === undefined || script.cachedDataRejected) keepCode(script, cacheFile);
  return code;
}

/**
 * Written after the command ran, so the functions it compiled are in it. Any failure
 * (a read-only folder, a full disk) only means the next start compiles again.
 */
function keepCode(script, cacheFile) {
  try {
    const dir = path.dirname(cacheFile);
    mkdirSync(dir, { recursive: true });
    // This checkout's caches of other builds or Node versions, and caches named before checkouts were told apart; other checkouts' stay.
    const mine = new RegExp(`^lynq-[^-]+-(${checkoutTag()}-)?node`);
    for (const old of readdirSync(dir))
      if (old !== path.basename(cacheFile) && mine.test(old)) rmSync(path.join(dir, old), { force: true });
    const temporary = `${cacheFile}.${process.pid}`;
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cacheFile);
  } catch {}
}

// A large first sync keeps much alive, and V8 lets its heap grow to about four times the
// live size after its previous collection before collecting again, so most of the peak is
// garbage. Growing to twice the live size lowers the peak for the same time (measured in
// bench/RESULTS.md). V8 reads the flag at every collection, so it applies when set here; a
// node flag a user gives (`node --heap-growing-percent=… bin/lynq.mjs`) comes first.
if (
  !process.execArgv.some(
    (flag) => flag.startsWith('--heap-growing-percent') || flag.startsWith('--heap_growing_percent'),
  )
) {
  v8.setFlagsFromString('--heap-growing-percent=100');
}

// A reader that stops early (`lynq --help | head`) closes the pipe: the rest of the output has
// nowhere to go, which is no error of the command's. Exit quietly, as other CLIs do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

if (distIsCurrent()) {
  process.exitCode = await runCompiled(process.argv.slice(2));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
