import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { toCanonicalYaml } from '../src/render/canonical-yaml.ts';

// Strings that trip YAML writers: YAML 1.1 booleans, numbers, dates, indicators, breaks.
const TRICKY = [
  '',
  ' ',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'n',
  'true',
  'null',
  '~',
  'NULL',
  '0',
  '-1',
  '1.5',
  '1e3',
  '0x1F',
  '0o17',
  '017',
  '1_000',
  '1:20',
  '.inf',
  '-.inf',
  '.nan',
  '2024-01-01',
  '2001-12-14t21:59:43.10-05:00',
  'a: b',
  'a #b',
  '#x',
  '- x',
  '? x',
  '[x]',
  '{x}',
  '&a',
  '*a',
  '!tag',
  '|',
  '>',
  '%x',
  '@x',
  '`x',
  '"q"',
  "'s'",
  'x:',
  'x: ',
  ' lead',
  'trail ',
  'tab\there',
  'multi\nline',
  'multi\nline\n',
  'end\n\n',
  '\nstarts with newline',
  ' lead\nline',
  'a\r\nb',
  'nel\u0085x',
  'ls\u2028x',
  'bom\ufeff',
  'ctl\u0001',
  'ünïcødé',
  '中文',
  'emoji 🎉',
  '\\backslash',
  'x\nkind: ClusterRole',
  '---',
  '...',
  'nginx:1.25',
  'http://x:80/a?b=c#d',
  '10Gi',
  '500m',
  '=',
  '<<',
  'key=value',
  'a,b',
  'trailing\n ',
  '  ',
  '\t',
  'line\n\tindented',
  'line\n  spaced\n',
];

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.45) {
    const kind = Math.floor(next() * 6);
    if (kind === 0) return Math.floor(next() * 2000) - 1000;
    if (kind === 1) return next() < 0.5;
    if (kind === 2) return null;
    if (kind === 3) return Math.round(next() * 1e6) / 1e3;
    return TRICKY[Math.floor(next() * TRICKY.length)];
  }
  if (pick < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(next() * 5); i++)
    out[String(TRICKY[Math.floor(next() * TRICKY.length)])] = randomValue(next, depth + 1);
  return out;
}

describe('canonical YAML', () => {
  test('every tricky string comes back as the same string under YAML 1.1 and 1.2', () => {
    for (const text of TRICKY) {
      const yaml = toCanonicalYaml({ value: text, list: [text], [text]: 1 });
      for (const version of ['1.1', '1.2'] as const) {
        const back = parse(yaml, { version }) as Record<string, unknown>;
        assert.equal(back.value, text, `${JSON.stringify(text)} (YAML ${version}):\n${yaml}`);
        assert.deepEqual(back.list, [text]);
        assert.equal(back[text], 1);
      }
    }
  });

  test('random documents round-trip exactly (2,000 seeded cases)', () => {
    const next = random(42);
    for (let i = 0; i < 2000; i++) {
      const value = { apiVersion: 'v1', kind: 'X', metadata: { name: 'n' }, spec: randomValue(next, 0) };
      const yaml = toCanonicalYaml(value);
      assert.deepEqual(parse(yaml, { version: '1.1' }), value, yaml);
      assert.deepEqual(parse(yaml), value, yaml);
      assert.ok(yaml.endsWith('\n') && !yaml.endsWith('\n\n\n'), 'one trailing newline');
    }
  });

  test('key order is canonical: apiVersion, kind, metadata (name, namespace) first, the rest sorted', () => {
    const a = toCanonicalYaml({
      spec: { b: 1, a: 2 },
      metadata: { labels: { z: 'a' }, namespace: 'ns', name: 'x' },
      kind: 'K',
      apiVersion: 'v1',
      data: {},
    });
    const b = toCanonicalYaml({
      apiVersion: 'v1',
      data: {},
      kind: 'K',
      metadata: { name: 'x', labels: { z: 'a' }, namespace: 'ns' },
      spec: { a: 2, b: 1 },
    });
    assert.equal(a, b);
    assert.equal(
      a,
      'apiVersion: v1\nkind: K\nmetadata:\n  name: x\n  namespace: ns\n  labels:\n    z: a\ndata: {}\nspec:\n  a: 2\n  b: 1\n',
    );
  });

  test('long strings are never folded', () => {
    const long = 'word '.repeat(100).trim();
    assert.equal(toCanonicalYaml({ long }), `long: ${long}\n`);
  });
});
