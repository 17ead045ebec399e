import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NodeSummary } from './git-nodes.ts';
import { fileStatusMemo, type StatusMemo } from './status-memo.ts';

export type { NodeSummary };

/**
 * LynqNodes already parsed, by git blob id, kept between runs: parsing 10,000 LynqNodes
 * as YAML takes seconds, and a blob id names its content for good, so an entry never goes
 * stale. Losing the file only costs the next read-back the parse.
 */
export type NodeMemo = {
  load(hub: string): Promise<Map<string, NodeSummary>>;
  save(hub: string, entries: ReadonlyMap<string, NodeSummary>): Promise<void>;
  /** What the bridge last knew of each LynqNode's status (status-memo.ts); none: LynqNodes are always listed whole. */
  statuses?: StatusMemo;
};

const BLOB = /^[0-9a-f]{40}$/;

export function fileNodeMemo(cacheDir: string): NodeMemo {
  const fileOf = (hub: string): string => path.join(cacheDir, 'health', `${hub}.json`);
  return {
    async load(hub) {
      try {
        const raw = JSON.parse(await readFile(fileOf(hub), 'utf8')) as Record<string, NodeSummary>;
        // A torn or foreign file is ignored, entry by entry: an entry only ever saves a parse. An entry written
        // before summaries kept the form version has no formHash key, and is parsed again once.
        return new Map(
          Object.entries(raw).filter(
            ([id, summary]) =>
              BLOB.test(id) &&
              typeof summary?.name === 'string' &&
              Array.isArray(summary.resources) &&
              Array.isArray(summary.objects) &&
              'formHash' in summary,
          ),
        );
      } catch {
        return new Map();
      }
    },
    async save(hub, entries) {
      const file = fileOf(hub);
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(Object.fromEntries(entries)));
      await rename(temporary, file);
    },
    statuses: fileStatusMemo(cacheDir),
  };
}
