import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Hub } from '../config/load.ts';
import type { ChangeCause } from '../plan/types.ts';
import type { ToldChange } from '../plan/verified-outputs.ts';

/** Where a hub's checked seals (plan/verified-outputs.ts) are kept between syncs. */
export type VerifiedStore = {
  /** The keys remembered for the hub; none when there is no file or it cannot be read. */
  load(hub: Hub): Promise<ReadonlySet<string>>;
  save(hub: Hub, keys: readonly string[]): Promise<void>;
  /** The hub as a sync left it whole (plan/hub-state.ts), as text; kept apart from the nodes' keys, which a sync that has it does not read. */
  loadWhole(hub: Hub): Promise<string | undefined>;
  /** Undefined: the sync did not leave the hub whole (the file is removed). */
  saveWhole(hub: Hub, state: string | undefined): Promise<void>;
  /** The changes told of nodes left unrendered (a rollout's waiting nodes), by key; none when there is no file or it cannot be read. */
  loadTold(hub: Hub): Promise<ReadonlyMap<string, ToldChange>>;
  saveTold(hub: Hub, told: ReadonlyMap<string, ToldChange>): Promise<void>;
};

const CAUSES: ReadonlySet<string> = new Set<ChangeCause>(['row', 'form', 'hub', 'bridge', 'edit', 'engine']);

const KEY = /^[0-9a-f]{64}$/;

/** One text file per hub in the cache folder, a key per line. Losing it only costs the next sync a read. */
export function fileVerifiedStore(cacheDir: string): VerifiedStore {
  const fileOf = (hub: Hub, suffix = 'txt'): string => path.join(cacheDir, 'verified', `${hub.name}.${suffix}`);
  const write = async (file: string, text: string): Promise<void> => {
    await mkdir(path.dirname(file), { recursive: true });
    // Written aside and renamed, so a reader never sees half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, text);
    await rename(temporary, file);
  };
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
      await write(fileOf(hub), keys.map((key) => `${key}\n`).join(''));
    },
    async loadWhole(hub) {
      return readFile(fileOf(hub, 'hub'), 'utf8').catch(() => undefined);
    },
    async saveWhole(hub, state) {
      if (state === undefined) await rm(fileOf(hub, 'hub'), { force: true });
      else await write(fileOf(hub, 'hub'), state);
    },
    async loadTold(hub) {
      let text: string;
      try {
        text = await readFile(fileOf(hub, 'told'), 'utf8');
      } catch {
        return new Map();
      }
      // A line per key: `<key> <causes, comma-separated> <reasons as JSON>`; a torn or foreign line is ignored.
      const told = new Map<string, ToldChange>();
      for (const line of text.split('\n')) {
        const [key = '', causes = '', reasons = ''] = line.split('\t');
        if (!KEY.test(key)) continue;
        const causeList = causes.split(',');
        if (causes === '' || !causeList.every((cause) => CAUSES.has(cause))) continue;
        let reasonList: unknown;
        try {
          reasonList = JSON.parse(reasons);
        } catch {
          continue;
        }
        if (
          !Array.isArray(reasonList) ||
          reasonList.length === 0 ||
          !reasonList.every((reason) => typeof reason === 'string')
        )
          continue;
        told.set(key, { causes: causeList as ChangeCause[], reasons: reasonList as string[] });
      }
      return told;
    },
    async saveTold(hub, told) {
      await write(
        fileOf(hub, 'told'),
        [...told]
          .map(([key, change]) => `${key}\t${change.causes.join(',')}\t${JSON.stringify(change.reasons)}\n`)
          .join(''),
      );
    },
  };
}
