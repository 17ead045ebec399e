import type { NodeCommit } from '../git/node-commits.ts';
import type { NodePhase } from './types.ts';

/**
 * A node change's lead time, as its LynqNode status keeps it (`status.leadTime`): the
 * commit, when the change was seen (the commit's author time: the sync that rendered it),
 * when it reached the branch (the committer time: the push, or the forge's merge: its squash or merge commit),
 * and when a read-back first saw the engine applied at it and the node Ready at it.
 * `seconds` (seen to Ready) is there once the node was Ready at the commit. Kept in the
 * cluster, so a restart, another process or a CronJob's next tick carries on from it.
 */
export type LeadTime = {
  commit: string;
  seenAt: string;
  committedAt: string;
  appliedAt?: string;
  readyAt?: string;
  seconds?: number;
};

/** The legs of a lead time, as the histogram labels them: `total` is seen to Ready. */
export const LEAD_TIME_LEGS = ['total', 'commit', 'apply', 'ready'] as const;
export type LeadTimeLeg = (typeof LEAD_TIME_LEGS)[number];

/** What of a node the lead time follows. */
export type LeadTimeInput = { commit: NodeCommit | undefined; applied: boolean; phase: NodePhase };

/**
 * The node's lead time record after this read-back (at `now`, ISO), from the status it
 * has. A record starts when the status does not name the node's last commit yet (a new
 * change, or a LynqNode the engine just created); a status that names it without a record
 * (written before lead times were kept) starts none, since when it was applied is not
 * known. Applied and Ready are stamped the first time a read-back sees them, so their
 * precision is the read-back's interval; once Ready, the record stays as it is.
 */
export function nextLeadTime(node: LeadTimeInput, status: Record<string, unknown>, now: string): LeadTime | undefined {
  const previous = parseLeadTime(status.leadTime);
  const commit = node.commit;
  if (commit === undefined) return previous;
  let next: LeadTime;
  if (previous?.commit === commit.commit) {
    if (previous.readyAt !== undefined) return previous;
    next = { ...previous };
  } else {
    const git = status.git;
    const lastCommit =
      typeof git === 'object' && git !== null ? (git as Record<string, unknown>).lastCommit : undefined;
    if (lastCommit === commit.commit) return previous;
    // A merge commit of the change a status already follows (one written when the read-back took the merged commit
    // for the node's last, before merges counted): the same change, not a new one to observe again.
    if (commit.merged !== undefined && (lastCommit === commit.merged || previous?.commit === commit.merged))
      return previous;
    next = { commit: commit.commit, seenAt: isoOf(commit.authorTime ?? commit.time), committedAt: isoOf(commit.time) };
  }
  // Whole seconds, as Git's times are: the legs are then whole too, and add up to the span exactly.
  const stamp = wholeSeconds(now);
  const ready = node.phase === 'Ready';
  if (next.appliedAt === undefined && (node.applied || ready)) next.appliedAt = stamp;
  if (ready) {
    next.readyAt = stamp;
    next.seconds = spanSeconds(next.seenAt, stamp);
  }
  return next;
}

/** A complete record's legs in seconds (never negative: clocks of Git's writers and the bridge may disagree). */
export function leadTimeLegs(lead: LeadTime): Record<LeadTimeLeg, number> | undefined {
  if (lead.appliedAt === undefined || lead.readyAt === undefined) return undefined;
  return {
    total: spanSeconds(lead.seenAt, lead.readyAt),
    commit: spanSeconds(lead.seenAt, lead.committedAt),
    apply: spanSeconds(lead.committedAt, lead.appliedAt),
    ready: spanSeconds(lead.appliedAt, lead.readyAt),
  };
}

/** Whether `next` completes a record `before` had not: the node turned Ready at a new commit (what the histograms observe, once). */
export function completesLeadTime(before: unknown, next: LeadTime | undefined): next is LeadTime & { readyAt: string } {
  if (next?.readyAt === undefined) return false;
  const previous = parseLeadTime(before);
  return previous === undefined || previous.commit !== next.commit || previous.readyAt === undefined;
}

/** A status's `leadTime`, when it is one the bridge wrote; anything else counts as none. */
export function parseLeadTime(value: unknown): LeadTime | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const item = value as Record<string, unknown>;
  const text = (key: string): string | undefined =>
    typeof item[key] === 'string' && !Number.isNaN(Date.parse(item[key] as string)) ? (item[key] as string) : undefined;
  const commit = typeof item.commit === 'string' ? item.commit : undefined;
  const seenAt = text('seenAt');
  const committedAt = text('committedAt');
  if (commit === undefined || seenAt === undefined || committedAt === undefined) return undefined;
  const lead: LeadTime = { commit, seenAt, committedAt };
  const appliedAt = text('appliedAt');
  const readyAt = text('readyAt');
  if (appliedAt !== undefined) lead.appliedAt = appliedAt;
  if (readyAt !== undefined) lead.readyAt = readyAt;
  if (typeof item.seconds === 'number' && Number.isFinite(item.seconds)) lead.seconds = item.seconds;
  return lead;
}

/**
 * The lead time in a status as the status memo keeps it (JSON, `leadTime` its last key, as
 * nodeStatus writes it): read without parsing the rest, as a no-op read-back of 10,000
 * nodes does not parse them.
 */
export function leadTimeOfOwned(owned: string): LeadTime | undefined {
  const at = owned.lastIndexOf('"leadTime":');
  if (at === -1) return undefined;
  try {
    return parseLeadTime(JSON.parse(owned.slice(at + '"leadTime":'.length, -1)));
  } catch {
    return undefined;
  }
}

/** An ISO time cut to its second; a text that is not a time (the status memo's comparison passes '') as it is. */
function wholeSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : isoOf(Math.floor(ms / 1000));
}

function isoOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function spanSeconds(from: string, to: string): number {
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
}
