import type { HubReadBack } from '../health/run.ts';
import { NODE_PHASES } from '../health/types.ts';

/** The sync summary's health lines: a count per phase per hub, or why the read-back failed. */
export function healthSummary(results: readonly HubReadBack[]): string {
  const lines = ['', 'health'];
  for (const result of results) {
    if (result.outcome !== 'read') {
      lines.push(`${result.hub}: read-back ${result.outcome}: ${result.error}`);
      continue;
    }
    const counts = NODE_PHASES.map(
      (phase) => `${phase} ${result.nodes.filter((node) => node.phase === phase).length}`,
    ).join(', ');
    const writes = `${result.statuses.patched} status(es) written${result.statuses.failed.length > 0 ? `, ${result.statuses.failed.length} failed` : ''}`;
    lines.push(
      `${result.hub}: ${counts}; ${writes}${result.tableError !== undefined ? `; status table not written: ${result.tableError}` : ''}${result.nudged !== undefined ? `; ${result.nudged.nudged} engine object(s) nudged` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
