// npm run build (and `prepare`): src/ bundled into dist/ by esbuild, for bin/lynq.mjs and the image.
//
// Why a bundle and not tsc's one file per module: start-up. Node spends most of a cold
// start resolving, reading and compiling modules one by one (zod alone is ~100 files,
// the sources ~170); a handful of bundled files does the same work in a fraction of the
// time. Code splitting keeps each command's `import('./x-command.ts')` lazy, so a command
// still loads only what it uses. Types are checked by `tsc --noEmit` (npm test, lint), not here.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

/**
 * Left to Node, loaded from node_modules at run time:
 * - nunjucks: the template sandbox requires its transformer by path, which must be the
 *   same instance as the one the bundle would otherwise carry;
 * - the database drivers and the Kubernetes client: large, loaded only by the commands and
 *   hubs that use them, and full of optional native and platform-specific requires;
 * - the Kubernetes schema packages are required by kind at run time (k8s-schema.ts), and
 *   pglite is started in a worker from its own files, so neither is imported here at all.
 */
const EXTERNAL = ['nunjucks', 'pg', 'mysql2', '@kubernetes/client-node', 'kubernetes-models', '@kubernetes-models/*', '@electric-sql/pglite'];

/**
 * Files are bundled into dist/cli/ and dist/chunks/, one level below dist/ like every
 * folder of src/. A module that finds files next to itself (`new URL('./askpass.sh',
 * import.meta.url)`, `../../hubs`, `../package.json`) gets the URL its own file would
 * have in dist/ (dist/git/git.js), so those paths mean what they mean in src/.
 */
const keepOwnUrl: Plugin = {
  name: 'keep-own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url') || !args.path.startsWith(src + path.sep)) return undefined;
      const own = path.relative(src, args.path).replace(/\.ts$/, '.js').split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(`../${own}`)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

await rm(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { 'cli/main': 'src/cli/main.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [keepOwnUrl],
  // Bundled CommonJS packages (commander, yaml, pino…) call require() for Node's own modules.
  banner: { js: "import { createRequire as __lynqCreateRequire } from 'node:module';\nconst require = __lynqCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
await mkdir(path.join(dist, 'git'), { recursive: true });
await copyFile(path.join(src, 'git/askpass.sh'), path.join(dist, 'git/askpass.sh'));
// bin/lynq.mjs runs dist/ only while this stamp is newer than every file in src/.
await writeFile(path.join(dist, '.build-stamp'), '');
