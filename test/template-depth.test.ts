import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

/** A form in Lynq's Go-template syntax whose leaves nest `depth` blocks and parentheses deep. */
function deepForm(depth: number, syntax: 'go' | 'nunjucks'): string {
  const blocks =
    syntax === 'go'
      ? `${'{{ if .uid }}'.repeat(depth)}x${'{{ end }}'.repeat(depth)}`
      : `${'{% if uid %}'.repeat(depth)}x${'{% endif %}'.repeat(depth)}`;
  const parens =
    syntax === 'go'
      ? `{{ ${'('.repeat(depth * 4)}.uid${')'.repeat(depth * 4)} }}`
      : `{{ ${'('.repeat(depth * 4)}uid${')'.repeat(depth * 4)} }}`;
  return `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata: { name: deep }
spec:
  hubId: customers
  configMaps:
    - id: c
      nameTemplate: "x"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          a: "${blocks}"
          b: "${parens}"
`;
}

test('templates nested thousands deep are a config error (exit 2) naming the leaf, in lynq import and lynq validate, never a stack overflow (exit 70)', async () => {
  const files = await tempFiles({
    'lynq/deep.yaml': deepForm(5000, 'go'),
    'hubs/customers.yaml': hubYaml(),
    'forms/deep.yaml': deepForm(5000, 'go'),
    'nj/forms/deep.yaml': deepForm(5000, 'nunjucks'),
  });
  try {
    const imported = await lynq(['import', path.join(files.dir, 'lynq', 'deep.yaml')]);
    assert.equal(imported.code, 2, imported.err.slice(0, 500));
    assert.match(imported.out + imported.err, /blocks nest more than 100 deep/);
    assert.match(imported.out + imported.err, /parentheses nest more than 100 deep/);
    const hubs = ['--hubs', path.join(files.dir, 'hubs')];
    for (const forms of ['forms', 'nj/forms']) {
      const validated = await lynq(['validate', ...hubs, '--forms', path.join(files.dir, forms)]);
      assert.equal(validated.code, 2, `${forms}: ${validated.err.slice(0, 500)}`);
      assert.match(validated.err, /resource c, field spec\.data\.a: .*nest/);
      assert.doesNotMatch(validated.err, /internal error|Maximum call stack/);
    }
    // Nesting of an ordinary depth still works.
    const ok = await tempFiles({ 'hubs/customers.yaml': hubYaml(), 'forms/deep.yaml': deepForm(20, 'go') });
    try {
      const validated = await lynq([
        'validate',
        '--files-only',
        '--repo',
        'https://git.example.com/manifests.git',
        '--hubs',
        path.join(ok.dir, 'hubs'),
        '--forms',
        path.join(ok.dir, 'forms'),
      ]);
      assert.equal(validated.code, 0, validated.err);
    } finally {
      await ok.cleanup();
    }
  } finally {
    await files.cleanup();
  }
});
