import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHub } from '../src/config/load.ts';
import { ConfigError } from '../src/errors.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

const laugh = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(`*${of}`).join(', ')}]`;
const BOMB = `${hubYaml()}lol:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  ${laugh('b', 'a')}
  ${laugh('c', 'b')}
  ${laugh('d', 'c')}
  ${laugh('e', 'd')}
  ${laugh('f', 'e')}
  ${laugh('g', 'f')}
  ${laugh('h', 'g')}
  ${laugh('i', 'h')}
`;
/** Nested `depth` levels inside spec, as a flow sequence or as block mappings. */
const flowNesting = (depth: number) => `${hubYaml()}  deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
const blockNesting = (depth: number) =>
  `${hubYaml()}  deep:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(4 + i * 2)}k:`).join('\n')} 1\n`;

const BAD: Record<string, [string, RegExp]> = {
  'an alias bomb': [BOMB, /aliases expand to too much data/],
  'an alias to an undefined anchor': [`${hubYaml()}  extra: *nowhere\n`, /alias \*nowhere has no anchor/],
  '5,000 levels of flow nesting': [flowNesting(5000), /not valid YAML|nested more than 100 levels/],
  '5,000 levels of block nesting': [blockNesting(5000), /not valid YAML|nested more than 100 levels/],
  '150 levels of nesting': [flowNesting(150), /nested more than 100 levels deep/],
};

describe('loading config cannot crash', () => {
  for (const [name, [text, message]] of Object.entries(BAD)) {
    test(`${name}: a ConfigError naming file and line`, () => {
      assert.throws(
        () => parseHub('hubs/bad.yaml', text),
        (error: unknown) =>
          error instanceof ConfigError && message.test(error.message) && /^hubs\/bad\.yaml:\d+: /.test(error.message),
      );
    });
  }

  test('lynq validate exits 2 on each, naming the file and line, with no stack trace', async () => {
    for (const [name, [text, message]] of Object.entries(BAD)) {
      const files = await tempFiles({ 'hubs/bad.yaml': text, 'forms/f.yaml': formYaml('') });
      try {
        const result = await lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
        assert.equal(result.code, 2, `${name}: ${result.err}`);
        assert.match(result.err, /bad\.yaml:\d+: /, name);
        assert.match(result.err, message, name);
        assert.doesNotMatch(result.err, /\n\s+at /, `${name}: a stack trace`);
      } finally {
        await files.cleanup();
      }
    }
  });

  test('ordinary anchors and aliases still load', () => {
    const hub = parseHub('hubs/ok.yaml', hubYaml({ extra: { plan: '&column plan', tier: '*column' } }));
    assert.deepEqual(hub.spec.extraValueMappings, { plan: 'plan', tier: 'plan' });
  });
});
