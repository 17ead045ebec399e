import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the reviewed outputs live: rendered manifests, commit messages, pull-request bodies. */
export const GOLDEN_DIR = path.join(import.meta.dirname, '..', 'golden');

/** `npm run golden:update` sets it: the golden files are written from this run instead of compared. */
const UPDATE = process.env.LYNQ_UPDATE_GOLDEN === '1';

/**
 * `actual` is byte for byte the reviewed file `test/golden/<name>`. An intended change is
 * made with `npm run golden:update`, and the golden file's diff is reviewed with the code.
 */
export function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `test/golden/${name} does not exist: run npm run golden:update and review it`);
  const expected = readFileSync(file, 'utf8');
  assert.ok(
    actual === expected,
    `differs from test/golden/${name}; if the change is intended, run npm run golden:update and review the diff\n${firstDifference(expected, actual)}`,
  );
}

function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  golden: ${JSON.stringify(a[i])}\n  now:    ${JSON.stringify(b[i])}`;
  }
  return '';
}
