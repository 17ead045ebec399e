// npm run build (and `prepare`): src/ bundled by esbuild into one CommonJS file,
// dist/cli/lynq.cjs, for bin/lynq.mjs and the image.
//
// Why a bundle and not tsc's one file per module: start-up. Node spends most of a cold
// start resolving, reading and compiling modules one by one (zod alone is ~100 files,
// the sources ~170); one bundled file does the same work in a fraction of the time.
// Why one CommonJS file and not ES modules split by command: Node 20 can keep V8's
// compiled code between runs only for a script it compiles itself (vm.Script's cachedData;
// Node 22's module compile cache does not exist in 20), which bin/lynq.mjs does for this
// file. A command still runs only the modules it imports: esbuild wraps every module
// reached by a dynamic `import('./x-command.ts')` in a function run on first import, and
// V8 compiles a function only when it is first called. Types are checked by
// `tsc --noEmit` (npm test, lint), not here.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { BUNDLE_EXTERNAL } from './externals.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const BUNDLE = path.join(dist, 'cli', 'lynq.cjs');

/** Left to Node (scripts/externals.ts says which and why). */
const EXTERNAL = BUNDLE_EXTERNAL;

/** `import('pg')`, `import('@kubernetes/client-node')`…: a package left to Node, imported by its name. */
const EXTERNAL_IMPORT = new RegExp(
  `(?<!typeof )\\bimport\\((['"])(${EXTERNAL.map((name) => name.replace(/[/.]/g, '\\$&').replace('*', '[^\'"]+')).join('|')})(\\/[^'"]*)?\\1\\)`,
  'g',
);

/**
 * What a module asks of `import.meta`, given by bin/lynq.mjs to the bundle's wrapper
 * function (a CommonJS script has no import.meta, and a script compiled with a code
 * cache cannot `import()` on its own):
 * - `import.meta.url`: the URL the module's own file would have in dist/ (dist/git/git.js:
 *   the bundle is dist/cli/lynq.cjs, one level below dist/ like every folder of src/), so
 *   `new URL('./askpass.sh', import.meta.url)` or `../package.json` mean what they mean in src/;
 * - `import.meta.resolve(name)` and `import(name)` of a package left to Node: resolved
 *   and imported by bin/lynq.mjs, as an ES module would.
 */
const importMeta: Plugin = {
  name: 'import-meta-from-bin',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!args.path.startsWith(src + path.sep) || !/import\.meta|import\(/.test(text)) return undefined;
      const own = path.relative(src, args.path).replace(/\.ts$/, '.js').split(path.sep).join('/');
      const contents = text
        .replaceAll('import.meta.url', `new URL(${JSON.stringify(`../${own}`)}, __lynqBundleUrl).href`)
        .replaceAll('import.meta.resolve(', '__lynqResolve(')
        .replace(EXTERNAL_IMPORT, '__lynqImport($1$2$3$1)');
      return { contents, loader: 'ts' };
    });
  },
};

await rm(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: BUNDLE,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [importMeta],
  // A bundled package's own import.meta.url (node-cron computes a path it never uses from
  // it) is the bundle's, as it was the chunk's when the bundle was split ES modules.
  define: { 'import.meta.url': '__lynqBundleUrl' },
  legalComments: 'none',
  logLevel: 'warning',
});
// esbuild writes strings and regular expressions in ASCII (its default charset) but keeps
// some comments as they are: escaped too, the bundle is all ASCII, which bin/lynq.mjs reads
// as latin1, about fifty times faster than decoding 4 MB of UTF-8 on every start.
const text = (await readFile(BUNDLE, 'utf8')).replace(
  /[^\x00-\x7f]/g,
  (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
);
await writeFile(BUNDLE, text);
const bundle = Buffer.from(text, 'latin1');
// Left in a script compiled with a code cache, either would fail only when its line runs.
// (esbuild turns an import.meta it cannot place into an empty object named import_meta.)
const leftover = /\bimport\.meta\b|\bimport_meta\d*\b|\bimport\(\s*['"`]/.exec(text);
if (leftover !== null)
  throw new Error(
    `build: "${leftover[0]}" left in ${BUNDLE}; bin/lynq.mjs gives the bundle these (see importMeta above)`,
  );
// The template sandbox guards nunjucks' own node classes and transformer: a second copy,
// loaded by a require left to run time, would compile templates the guards never see.
if (/\brequire\("nunjucks[/"]/.test(text))
  throw new Error(`build: nunjucks is required at run time from ${BUNDLE}: the sandbox needs the bundled copy only`);
await mkdir(path.join(dist, 'git'), { recursive: true });
await copyFile(path.join(src, 'git/askpass.sh'), path.join(dist, 'git/askpass.sh'));
// The commit this build is made from, for `lynq --version` (src/version.ts): given by the
// image build (docker/Dockerfile's REVISION, which has no .git in its context), else asked
// of git in a clone; left out when neither knows it.
const commit = buildCommit();
await writeFile(path.join(dist, 'build-info.json'), `${JSON.stringify(commit === undefined ? {} : { commit })}\n`);
// bin/lynq.mjs runs dist/ only while this stamp is newer than every file in src/; its
// content, the bundle's hash, names the bundle's code cache.
await writeFile(path.join(dist, '.build-stamp'), `${createHash('sha256').update(bundle).digest('hex')}\n`);

function buildCommit(): string | undefined {
  const given = process.env.LYNQ_BUILD_COMMIT?.trim();
  if (given) {
    if (!/^[0-9a-f]{7,64}$/.test(given))
      throw new Error(
        `build: LYNQ_BUILD_COMMIT="${given}" is not a commit id (7 to 64 lowercase hex digits): pass git rev-parse HEAD`,
      );
    return given;
  }
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return /^[0-9a-f]{40,64}$/.test(head) ? head : undefined;
  } catch {
    return undefined;
  }
}
