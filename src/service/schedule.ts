import { createHash } from 'node:crypto';
import type { SyncInterval } from '../config/sync-interval.ts';

/**
 * The cron schedule (6 fields, seconds first) a hub's interval runs on in `lynq serve`.
 * A duration is offset by a jitter derived from the hub's name, so many hubs do not all
 * start at :00, and the same hub keeps the same slot across restarts and replicas.
 * A cron expression is the user's own choice of times and is taken as written.
 */
export function cronSchedule(hubName: string, interval: SyncInterval): string {
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
