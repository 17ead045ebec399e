/**
 * The steps of one hub's sync, in order (sync-hub.ts). A service times each one; the CLI
 * shows the current one on a terminal.
 */
export type SyncPhase = 'read-rows' | 'plan' | 'gate' | 'route' | 'publish' | 'propose' | 'read-back';

const LABELS: Record<SyncPhase, string> = {
  'read-rows': 'reading rows',
  plan: 'comparing with git',
  gate: 'checking the deletion guard',
  route: 'routing',
  publish: 'committing and pushing',
  propose: 'pull request',
  'read-back': 'reading health back',
};

/** For people: what the hub is doing now. */
export function phaseLabel(phase: SyncPhase, detail?: string): string {
  return detail ?? LABELS[phase];
}
