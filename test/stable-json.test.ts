import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stableJson } from '../src/render/hash.ts';

/** The definition: keys sorted by code unit, undefined members left out, at every level. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((key) => `${JSON.stringify(key)}:${reference(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

test('stableJson writes what its definition says, for flat rows (its fast path) and nested values, whatever order and set of keys comes before', () => {
  const values: unknown[] = [
    { uid: 'a', plan: 'gold', replicas: 3, active: true, domain: null, gone: undefined },
    // Keys that come sorted (a row's do) take the fastest path: the same text.
    { active: true, domain: null, plan: 'gold', replicas: 3, uid: 'a' },
    { a: 1, b: undefined, c: 'x"y' },
    { 10: 'ten', a: 1 },
    { replicas: 3, uid: 'a', plan: 'gold', active: true, domain: null },
    { uid: 'b', plan: 'silver', replicas: 1, active: false, domain: 'b.example.com', gone: undefined },
    { Z: 1, a: 2, é: 3, '"quoted"': 'x\ny', '': 0, 10: 'ten', 9: 'nine' },
    { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: -0, big: 1e21 },
    { nested: { b: 1, a: [3, { d: undefined, c: 2 }] }, flat: 'x' },
    { list: [1, 'two', null, undefined], uid: 'c' },
    { at: new Date(Date.UTC(2026, 0, 1)), uid: 'd' },
    [{ b: 1, a: 2 }, undefined, 'x'],
    {},
    'text',
    42,
    null,
  ];
  // Twice over, in turn: the fast path keeps the last key order it sorted.
  for (const value of [...values, ...[...values].reverse()])
    assert.equal(stableJson(value), reference(value), JSON.stringify(value));
  assert.equal(stableJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  assert.equal(stableJson({ a: 2, b: 1 }), '{"a":2,"b":1}');
  assert.equal(stableJson({ b: 1, c: 2 }), '{"b":1,"c":2}');
});
