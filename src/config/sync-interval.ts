import { createRequire } from 'node:module';

// node-cron is loaded only for a cron expression (a duration, the common case, needs none),
// and synchronously, since the hub schema checks this while it parses.
const require = createRequire(import.meta.url);
const validCron = (expression: string): boolean => (require('node-cron') as typeof import('node-cron')).validate(expression);

/**
 * `spec.source.syncInterval`: a duration (`30s`, `1m`, `5m`, `2h`) or a cron expression
 * (5 fields, or 6 with seconds first). A duration becomes a cron schedule in `lynq serve`,
 * so it must divide its unit's cycle evenly (a minute, an hour, a day): `7m` would not
 * repeat every 7 minutes across the hour, so it is refused rather than quietly bent.
 */
export type SyncInterval = { kind: 'every'; unit: 's' | 'm' | 'h'; count: number } | { kind: 'cron'; expression: string };

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
    const cycle = CYCLE[unit];
    if (count < 1 || count > cycle || cycle % count !== 0) {
      const fits = divisors(cycle)
        .map((n) => `${n}${unit}`)
        .join(', ');
      return { error: `${JSON.stringify(text)} does not divide ${unit === 'h' ? 'a day' : unit === 'm' ? 'an hour' : 'a minute'} evenly; use one that does (${fits}) or a cron expression` };
    }
    return { kind: 'every', unit, count };
  }
  const fields = trimmed.split(/\s+/).length;
  if ((fields === 5 || fields === 6) && validCron(trimmed)) return { kind: 'cron', expression: trimmed };
  return { error: `${JSON.stringify(text)} is neither a duration (30s, 1m, 5m, 1h) nor a cron expression (like "*/5 * * * *")` };
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0 && d < n);
}
