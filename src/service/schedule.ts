import { createHash } from 'node:crypto';
import type { SyncInterval } from '../config/sync-interval.ts';

/**
 * The cron schedule (6 fields, seconds first) a hub's interval runs on in `lynq serve`.
 * A duration is offset by a jitter derived from the hub's name, so many hubs do not all
 * start at :00, and the same hub keeps the same slot across restarts and replicas.
 * A cron expression is the user's own choice of times and is taken as written.
 */
export function cronSchedule(hubName: string, interval: Exclude<SyncInterval, { kind: 'period' }>): string {
  if (interval.kind === 'cron') return interval.expression;
  const jitter = (range: number, salt: string): number => (range <= 1 ? 0 : jitterOf(hubName, salt) % range);
  const second = jitter(60, 's');
  switch (interval.unit) {
    case 's':
      return `${jitter(interval.count, 's')}-59/${interval.count} * * * * *`;
    case 'm':
      return `${second} ${jitter(interval.count, 'm')}-59/${interval.count} * * * *`;
    case 'h':
      return `${second} ${jitter(60, 'm')} ${jitter(interval.count, 'h')}-23/${interval.count} * * *`;
  }
}

function jitterOf(hubName: string, salt: string): number {
  return createHash('sha256').update(`${salt}:${hubName}`).digest().readUInt32BE(0);
}

/** What a scheduled hub holds: stopped when the hub is removed, changed or the service stops. */
export type Ticker = { destroy(): void };

/**
 * A period that no cron field can repeat (`7m`, `90s`, `5h`): every `seconds` from a first
 * tick offset by the same name-derived jitter, so hubs of one period do not start together.
 */
export function periodTicker(hubName: string, seconds: number, tick: () => void): Ticker {
  const periodMs = seconds * 1000;
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick();
    timer = setInterval(tick, periodMs);
  }, jitterOf(hubName, 'period') % periodMs);
  return { destroy: () => clearTimeout(timer) };
}
