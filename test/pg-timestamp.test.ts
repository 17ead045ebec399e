import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTimestampUtc } from '../src/sources/postgresql.ts';

test('a Postgres timestamp reads as the ISO text of its UTC Date; what a Date cannot hold stays as Postgres wrote it', () => {
  const viaDate = (text: string): string => {
    const [date, time] = text.split(' ');
    const [clock, fraction = ''] = time!.split('.');
    return new Date(`${date}T${clock}.${fraction.padEnd(3, '0').slice(0, 3)}Z`).toISOString();
  };
  for (const text of [
    '2024-01-02 03:04:05',
    '2024-01-02 03:04:05.6',
    '2024-01-02 03:04:05.678',
    '2024-01-02 03:04:05.678901',
    '1969-12-31 23:59:59.999',
    '0001-01-01 00:00:00',
    '9999-12-31 23:59:59.5',
    '2024-02-29 12:00:00',
  ]) {
    assert.equal(parseTimestampUtc(text), viaDate(text), text);
  }
  for (const text of ['infinity', '-infinity', '0044-03-15 12:00:00 BC', '10000-01-01 00:00:00', '2024-01-02T03:04:05'])
    assert.equal(parseTimestampUtc(text), text);
});
