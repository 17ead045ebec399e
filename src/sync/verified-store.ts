import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Hub } from '../config/load.ts';

/** Where a hub's checked seals (plan/verified-outputs.ts) are kept between syncs. */
export type VerifiedStore = {
  /** The keys remembered for the hub; none when there is no file or it cannot be read. */
  load(hub: Hub): Promise<ReadonlySet<string>>;
  save(hub: Hub, keys: readonly string[]): Promise<void>;
};

const KEY = /^[0-9a-f]{64}$/;

/** One text file per hub in the cache folder, a key per line. Losing it only costs the next sync a read. */
export function fileVerifiedStore(cacheDir: string): VerifiedStore {
  const fileOf = (hub: Hub): string => path.join(cacheDir, 'verified', `${hub.name}.txt`);
  return {
    async load(hub) {
      let text: string;
      try {
        text = await readFile(fileOf(hub), 'utf8');
      } catch {
        return new Set();
      }
      // Anything but a key (a torn or foreign file) is ignored: a key only ever saves work.
      return new Set(text.split('\n').filter((line) => KEY.test(line)));
    },
    async save(hub, keys) {
      const file = fileOf(hub);
      await mkdir(path.dirname(file), { recursive: true });
      // Written aside and renamed, so a reader never sees half a file.
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, keys.map((key) => `${key}\n`).join(''));
      await rename(temporary, file);
    },
  };
}
