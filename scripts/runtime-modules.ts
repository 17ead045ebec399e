// docker/Dockerfile's build stage: copy into <target>/node_modules only the packages the
// bundle leaves to run time (scripts/externals.ts IMAGE_RUNTIME_PACKAGES) and what they
// depend on, at the versions and places package-lock.json gives them: everything else is
// in dist/cli/lynq.cjs already. TypeScript files (declarations, and the sources some
// packages ship) and source maps are left out: Node loads none of them from node_modules.
// So are @types/ packages.
//   node --import tsx scripts/runtime-modules.ts <target>
import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_RUNTIME_PACKAGES } from './externals.ts';

type LockEntry = {
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

const root = fileURLToPath(new URL('..', import.meta.url));
const NOT_AT_RUN_TIME = /\.([mc]?ts|map)$/;

/** Where Node would find `name` from the package at `from` (a lockfile path): its own node_modules, then each parent's. */
function resolve(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/** The lockfile paths of the runtime packages and of everything they depend on (optional ones only when installed). */
export function closure(packages: Record<string, LockEntry>, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = roots.map((name) => {
    const found = resolve(packages, '', name);
    if (found === undefined)
      throw new Error(
        `runtime-modules: ${name} is not in package-lock.json: add it to dependencies, or take it out of scripts/externals.ts`,
      );
    return found;
  });
  while (queue.length > 0) {
    const at = queue.pop()!;
    if (seen.has(at)) continue;
    seen.add(at);
    const entry = packages[at]!;
    const wanted = { ...entry.peerDependencies, ...entry.optionalDependencies, ...entry.dependencies };
    for (const name of Object.keys(wanted)) {
      const found = resolve(packages, at, name);
      if (found === undefined) {
        if (entry.dependencies?.[name] !== undefined)
          throw new Error(
            `runtime-modules: ${at} depends on ${name}, which package-lock.json does not hold: run npm install`,
          );
        continue;
      }
      if (!packages[found]!.dev && !name.startsWith('@types/')) queue.push(found);
    }
  }
  return [...seen].sort();
}

async function main(target: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const paths = closure(lock.packages, IMAGE_RUNTIME_PACKAGES);
  for (const at of paths) {
    // An optional package for another platform (a native binary) is in the lockfile, not on disk.
    if (lock.packages[at]!.optional && !existsSync(path.join(root, at))) continue;
    // A nested package is copied with its parent's folder skipped below, so copy only its own files here.
    await cp(path.join(root, at), path.join(target, at), {
      recursive: true,
      filter: (source) =>
        !NOT_AT_RUN_TIME.test(source) &&
        !path.relative(path.join(root, at), source).split(path.sep).includes('node_modules'),
    });
  }
  process.stdout.write(`runtime-modules: ${paths.length} packages into ${path.join(target, 'node_modules')}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const target = process.argv[2];
  if (target === undefined) {
    process.stderr.write('usage: node --import tsx scripts/runtime-modules.ts <target folder>\n');
    process.exit(2);
  }
  await main(path.resolve(target));
}
