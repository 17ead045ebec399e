import { describeNode } from '../sync/commit-message.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import { countByStatus } from '../plan/types.ts';

export const EXIT_OK = 0;
/** Some nodes failed or deletions were held back; the rest was published. */
export const EXIT_PARTIAL = 1;
export const EXIT_CONFIG = 2;
/** Nothing published for a hub because its source or git failed. */
export const EXIT_NOT_PUBLISHED = 3;

/** The exit code comes from the summary, nowhere else. */
export function exitCodeOf(results: readonly HubSyncResult[]): number {
  if (results.some((result) => result.outcome === 'source-failed' || result.outcome === 'git-failed')) return EXIT_NOT_PUBLISHED;
  const partial = results.some((result) => 'plan' in result && result.plan.nodes.some((node) => node.status === 'failed' || node.status === 'held'));
  return partial ? EXIT_PARTIAL : EXIT_OK;
}

const COLUMNS = ['added', 'updated', 'unchanged', 'removed', 'held', 'failed'] as const;

/** The table printed at the end of a sync, then every failed or held node with its reason. */
export function summaryTable(results: readonly HubSyncResult[], options: { dryRun: boolean; listNodes: boolean }): string {
  const header = ['hub', ...COLUMNS, options.dryRun ? 'result' : 'commit'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const result of results) {
    if (!('plan' in result)) {
      rows.push([result.hub, ...COLUMNS.map(() => '-'), result.outcome]);
      notes.push(`${result.hub}: ${result.outcome}: ${result.error}`);
      continue;
    }
    const counts = countByStatus(result.plan.nodes);
    const last = options.dryRun ? (result.outcome === 'unchanged' ? 'no changes' : 'would commit') : result.outcome === 'unchanged' ? 'no changes' : (result.commit?.slice(0, 12) ?? '');
    rows.push([result.hub, ...COLUMNS.map((column) => String(counts[column])), last]);
    for (const node of result.plan.nodes) {
      if (options.listNodes && node.status !== 'failed') notes.push(`${result.hub}/${describeNode(node)}`);
      if (node.status === 'failed') notes.push(`${result.hub}/${node.form}/${node.uid}: failed: ${node.error ?? ''}`);
      else if (node.status === 'held' && !options.listNodes) notes.push(`${result.hub}/${describeNode(node)}`);
    }
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [...notes, ...(notes.length > 0 ? [''] : []), line(header), ...rows.map(line), ''].join('\n');
}
