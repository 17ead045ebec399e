import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * git's own defaults for `gc --auto` (gc.auto, gc.autoPackLimit): a gc once about this many
 * loose objects or more than this many packs pile up.
 */
const GC_AUTO = 6700;
const GC_AUTO_PACK_LIMIT = 50;

/** A loose object's file name in its fan-out folder: the rest of a SHA-1 or SHA-256 id. */
const LOOSE_OBJECT = /^(?:[0-9a-f]{38}|[0-9a-f]{62})$/;

/**
 * Whether `git gc --auto` in this bare repository could find anything to do, by the test
 * git itself makes first (builtin/gc.c need_to_gc): more than gc.autoPackLimit local packs
 * without a `.keep`, or more than gc.auto / 256 loose objects in `objects/17` (git's
 * estimate of the whole). Answered without starting git; false only when git would answer
 * "nothing to do" too, so asking git then is skipped with the same outcome. Any doubt (a
 * gc setting or an include in the repository's config, a folder that cannot be read other
 * than for being absent) answers true, and git is asked as before.
 */
export function gcMightRun(gitDir: string): boolean {
  try {
    // Only the repository's own config can change the thresholds: git runs with no system or global config (git.ts).
    const config = readFileSync(path.join(gitDir, 'config'), 'utf8').toLowerCase();
    if (config.includes('[gc') || config.includes('[include') || config.includes('[maintenance')) return true;
    return tooManyPacks(path.join(gitDir, 'objects', 'pack')) || tooManyLoose(path.join(gitDir, 'objects', '17'));
  } catch {
    return true;
  }
}

function tooManyPacks(packDir: string): boolean {
  const names = new Set(readdirOrEmpty(packDir));
  let packs = 0;
  for (const name of names) {
    // git finds packs by their index; a pack with a .keep is not counted.
    if (!name.endsWith('.idx')) continue;
    const base = name.slice(0, -'.idx'.length);
    if (!names.has(`${base}.keep`)) packs++;
  }
  return packs > GC_AUTO_PACK_LIMIT;
}

function tooManyLoose(fanOut: string): boolean {
  const threshold = Math.ceil(GC_AUTO / 256);
  let loose = 0;
  for (const name of readdirOrEmpty(fanOut)) if (LOOSE_OBJECT.test(name) && ++loose > threshold) return true;
  return false;
}

/** A folder's names; none when it does not exist (git's test treats a missing folder as empty), any other failure thrown. */
function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
