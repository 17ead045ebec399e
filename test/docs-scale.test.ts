import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseHub } from '../src/config/load.ts';

const DOC = fileURLToPath(new URL('../docs/scale.md', import.meta.url));

describe('docs/scale.md', () => {
  it('its shard hub is a valid LynqHub', async () => {
    const text = await readFile(DOC, 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    assert.ok(block !== undefined, 'the page has a yaml example');
    // The example is indented inside a list item: take the indentation off.
    const indent = /^( *)/.exec(block)![1]!.length;
    const hub = parseHub(
      'docs/scale.md',
      block
        .split('\n')
        .map((line) => line.slice(indent))
        .join('\n'),
    );
    assert.equal(hub.name, 'customers-03');
    assert.equal(hub.spec.publish.repo, 'https://github.com/acme/fleet-manifests-03.git');
  });
});
