import { createRequire } from 'node:module';

// node-cron is loaded only for a cron expression (a duration, the common case, needs none),
// and synchronously, since the hub schema checks this while it parses.
const require = createRequire(import.meta.url);
const validCron = (expression: string): boolean =>
  (require('node-cron') as typeof import('node-cron')).validate(expression);

/**
 * `spec.source.syncInterval`: a duration (`30s`, `1m`, `5m`, `2h`, and any other that Lynq
 * accepts: `45s`, `90s`, `7m`, `5h`) or a cron expression (5 fields, or 6 with seconds first).
 * A duration that divides its unit's cycle (a minute, an hour, a day) becomes a cron
 * schedule in `lynq serve`, on wall-clock slots; any other (`7m` would not repeat every 7
 * minutes across the hour) is a period: every so long from the service's start.
 */
export type SyncInterval =
  | { kind: 'every'; unit: 's' | 'm' | 'h'; count: number }
  | { kind: 'period'; seconds: number }
  | { kind: 'cron'; expression: string };

const SECONDS = { s: 1, m: 60, h: 3600 } as const;

const DURATION = /^(\d+)\s*(s|m|h)$/;
const CYCLE = { s: 60, m: 60, h: 24 } as const;

/** The interval, or the reason it cannot be used (a message for the hub file's field). */
export function parseSyncInterval(text: string): SyncInterval | { error: string } {
  const trimmed = text.trim();
  const duration = DURATION.exec(trimmed);
  if (duration !== null) {
    let count = Number(duration[1]);
    let unit = duration[2] as 's' | 'm' | 'h';
    // 60s is 1m and 60m is 1h: the next unit up repeats them exactly.
    if (unit === 's' && count % 60 === 0 && count > 0) [count, unit] = [count / 60, 'm'];
    if (unit === 'm' && count % 60 === 0 && count > 0) [count, unit] = [count / 60, 'h'];
    if (unit === 'h' && count === 24) return { kind: 'cron', expression: '0 0 * * *' };
    if (count < 1) return { error: `${JSON.stringify(text)} is no interval: give one of at least 1s` };
    const cycle = CYCLE[unit];
    if (count > cycle || cycle % count !== 0) return { kind: 'period', seconds: count * SECONDS[unit] };
    return { kind: 'every', unit, count };
  }
  const fields = trimmed.split(/\s+/).length;
  if ((fields === 5 || fields === 6) && validCron(trimmed)) return { kind: 'cron', expression: trimmed };
  return {
    error: `${JSON.stringify(text)} is neither a duration (30s, 1m, 5m, 1h) nor a cron expression (like "*/5 * * * *")`,
  };
}

/** How long the interval is, in seconds; undefined for a cron expression (its gaps may differ). */
export function intervalSeconds(interval: SyncInterval): number | undefined {
  if (interval.kind === 'period') return interval.seconds;
  if (interval.kind === 'every') return interval.count * SECONDS[interval.unit];
  return undefined;
}
