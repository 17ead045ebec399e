import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

// The docs say Node 20; package.json says >=20.16 (the Kubernetes client's jsep needs it). Every installed package must agree, or
// `npm ci` warns EBADENGINE (content-type 3.x wants Node 22: package.json overrides it to 2.x,
// whose parse() gives @octokit/request the same { type, parameters }).

type Version = [number, number, number];

function version(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/\.x$/, '')
    .split('.')
    .map((part) => Number(part));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The subset of semver ranges the lock file uses: `>=X.Y.Z`, `^X.Y.Z`, `X.x`, joined by `||`. */
function satisfies(node: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const text = alternative.trim();
    const atLeast = /^>=\s*(\d+(?:\.\d+)?(?:\.(?:\d+|x))?)$/.exec(text);
    if (atLeast) return compare(node, version(atLeast[1]!)) >= 0;
    const caret = /^\^(\d+(?:\.\d+){0,2})$/.exec(text);
    if (caret) return node[0] === version(caret[1]!)[0] && compare(node, version(caret[1]!)) >= 0;
    const major = /^(\d+)\.x$/.exec(text);
    if (major) return node[0] === Number(major[1]);
    return assert.fail(`engines range ${JSON.stringify(range)} is not one this check reads`);
  });
}

describe('Node versions', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  };
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } }>;
  };
  const minimum = version(/^>=(\S+)$/.exec(pkg.engines.node)![1]!);

  test('every package in the lock file runs on the oldest Node the project declares', () => {
    assert.equal(minimum[0], 20);
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines?.node !== undefined && !satisfies(minimum, entry.engines.node))
      .map(([name, entry]) => `${name} (${entry.engines!.node})`);
    assert.deepEqual(refusing, []);
  });

  test('the check itself tells a Node 22 package apart', () => {
    assert.equal(satisfies(minimum, '>=22'), false);
    assert.equal(satisfies(minimum, '>= 20'), true);
    assert.equal(satisfies(minimum, '^12.22.0 || ^14.16.0 || ^16.0.0 || >=17.0.0'), true);
  });
});
