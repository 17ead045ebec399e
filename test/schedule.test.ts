import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { validate } from 'node-cron';
import { parseHub } from '../src/config/load.ts';
import { parseSyncInterval } from '../src/config/sync-interval.ts';
import { ConfigError } from '../src/errors.ts';
import { cronSchedule, periodTicker } from '../src/service/schedule.ts';
import { hubYaml } from './helpers/config.ts';

const withInterval = (interval: string) =>
  hubYaml().replace('    type: postgresql\n', `    type: postgresql\n    syncInterval: ${JSON.stringify(interval)}\n`);

describe('spec.source.syncInterval', () => {
  test('durations that repeat evenly, and cron expressions, are accepted', () => {
    assert.deepEqual(parseSyncInterval('30s'), { kind: 'every', unit: 's', count: 30 });
    assert.deepEqual(parseSyncInterval('60s'), { kind: 'every', unit: 'm', count: 1 });
    assert.deepEqual(parseSyncInterval('5m'), { kind: 'every', unit: 'm', count: 5 });
    assert.deepEqual(parseSyncInterval('120m'), { kind: 'every', unit: 'h', count: 2 });
    assert.deepEqual(parseSyncInterval('24h'), { kind: 'cron', expression: '0 0 * * *' });
    assert.deepEqual(parseSyncInterval('*/5 * * * *'), { kind: 'cron', expression: '*/5 * * * *' });
    assert.deepEqual(parseSyncInterval('10 */2 * * * *'), { kind: 'cron', expression: '10 */2 * * * *' });
  });

  test('durations Lynq accepts that no cron field repeats are periods: 45s, 90s, 7m, 5h', () => {
    assert.deepEqual(parseSyncInterval('45s'), { kind: 'period', seconds: 45 });
    assert.deepEqual(parseSyncInterval('90s'), { kind: 'period', seconds: 90 });
    assert.deepEqual(parseSyncInterval('7m'), { kind: 'period', seconds: 420 });
    assert.deepEqual(parseSyncInterval('5h'), { kind: 'period', seconds: 18_000 });
    assert.deepEqual(parseSyncInterval('36h'), { kind: 'period', seconds: 129_600 });
  });

  test('a bad interval is a config error naming file, line and field', () => {
    for (const [interval, reason] of [
      ['0s', /"0s" is no interval: give one of at least 1s/],
      ['0h', /"0h" is no interval/],
      ['soon', /"soon" is neither a duration .* nor a cron expression/],
      ['61 * * * *', /is neither a duration/],
    ] as const) {
      assert.throws(
        () => parseHub('hubs/customers.yaml', withInterval(interval)),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.where.field === 'spec.source.syncInterval' &&
          error.where.line === 9 &&
          reason.test(error.message) &&
          error.message.startsWith('hubs/customers.yaml:9'),
        interval,
      );
    }
  });

  test('notifyChannel is for PostgreSQL only, and a plain identifier', () => {
    const mysql = hubYaml()
      .replace('type: postgresql', 'type: mysql')
      .replace('    postgresql:\n', '    mysql:\n')
      .replace('      table: customers\n', '      table: customers\n      notifyChannel: changes\n');
    assert.throws(
      () => parseHub('hubs/m.yaml', mysql),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.where.field === 'spec.source.mysql.notifyChannel' &&
        /MySQL has no LISTEN\/NOTIFY/.test(error.message),
    );
    const bad = hubYaml().replace(
      '      table: customers\n',
      '      table: customers\n      notifyChannel: "x; DROP TABLE t"\n',
    );
    assert.throws(
      () => parseHub('hubs/p.yaml', bad),
      (error: unknown) => error instanceof ConfigError && error.where.field === 'spec.source.postgresql.notifyChannel',
    );
  });
});

describe('the schedule serve runs a hub on', () => {
  test('a duration gets a jitter from the hub name: the same for the same hub, within the interval, always a valid cron expression', () => {
    const slots = new Set<string>();
    for (const name of ['customers', 'devices', 'labs', 'shops', 'tenants', 'seats']) {
      for (const text of ['5s', '30s', '1m', '15m', '2h']) {
        const interval = parseSyncInterval(text);
        assert.ok(!('error' in interval) && interval.kind !== 'period', text);
        const expression = cronSchedule(name, interval);
        assert.equal(cronSchedule(name, interval), expression, 'deterministic');
        assert.ok(validate(expression), `${name} ${text}: ${expression}`);
        if (text === '1m') slots.add(expression);
      }
    }
    assert.ok(slots.size > 1, 'different hubs start at different seconds');
    assert.match(
      cronSchedule('customers', { kind: 'every', unit: 's', count: 30 }),
      /^([0-9]|[12][0-9])-59\/30 \* \* \* \* \*$/,
    );
    assert.equal(
      cronSchedule('customers', { kind: 'cron', expression: '0 3 * * *' }),
      '0 3 * * *',
      'a cron expression is taken as written',
    );
  });
});

describe('a period serve runs a hub on', () => {
  test('the first tick within one period (a jitter from the hub name), then one every period, none after destroy', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    try {
      const ticks: number[] = [];
      let now = 0;
      const ticker = periodTicker('customers', 420, () => ticks.push(now));
      for (now = 1000; now <= 420_000 * 3; now += 1000) mock.timers.tick(1000);
      assert.equal(ticks.length, 3, String(ticks));
      assert.ok(ticks[0]! <= 420_000);
      assert.deepEqual([ticks[1]! - ticks[0]!, ticks[2]! - ticks[1]!], [420_000, 420_000]);
      ticker.destroy();
      mock.timers.tick(420_000 * 2);
      assert.equal(ticks.length, 3);
    } finally {
      mock.timers.reset();
    }
  });
});
