#!/usr/bin/env node
// The published `lynq` (the image, a packed tarball) runs the compiled JavaScript in dist/:
// nothing is compiled at start-up. In a clone, dist/ is used only while it is newer than
// every file in src/ (`npm run build` makes it, and `npm ci` runs that through `prepare`);
// otherwise, or with LYNQ_FROM_SOURCE=1, the TypeScript sources run through tsx, so an
// edit takes effect at once and stack traces point at the .ts files people read.
import { existsSync, readdirSync, statSync } from 'node:fs';

const distMain = new URL('../dist/cli/main.js', import.meta.url);
const sources = new URL('../src/', import.meta.url);

function distIsCurrent() {
  if (process.env.LYNQ_FROM_SOURCE === '1' || !existsSync(distMain)) return false;
  if (!existsSync(sources)) return true;
  const built = statSync(new URL('../dist/.build-stamp', import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

let main;
if (distIsCurrent()) {
  ({ main } = await import(distMain.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
