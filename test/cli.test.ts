// @slow: about 25 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { createLogger, SecretRegistry } from '../src/logger.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { captureStream, tempFiles } from './helpers/files.ts';
import { commitCount, logMessages, readTree } from './helpers/git.ts';

const run = promisify(execFile);

describe('the lynq command', () => {
  test('npx lynq --help works without a build step', async () => {
    const { stdout } = await run('node', ['bin/lynq.mjs', '--help']);
    for (const command of ['sync', 'validate', 'render', 'demo'])
      assert.match(stdout, new RegExp(`^  ${command}\\b`, 'm'));
  });

  test('usage errors exit 2', async () => {
    assert.equal((await lynq(['sync', '--no-such-flag'])).code, 2);
    assert.equal((await lynq(['frobnicate'])).code, 2);
    const unknownHub = await lynq(['sync', '--hub', 'nope']);
    assert.equal(unknownHub.code, 2);
    assert.match(unknownHub.err, /no hub named "nope" \(hubs: demo/);
  });

  test('validate passes on the examples and fails (exit 2) naming a bad template', async () => {
    const ok = await lynq(['validate', '--files-only']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^ok: \d+ hubs, \d+ forms, \d+ resources$/m);

    const lists = `  configMaps:\n    - id: c\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          A: "{{ plan | nosuchfilter }}"\n          B: "{{ typo }}"\n          C: "{% if %}"\n`;
    const files = await tempFiles({
      'hubs/h.yaml': hubYaml({ extra: { plan: 'plan' } }),
      'forms/f.yaml': formYaml(lists),
    });
    try {
      const bad = await lynq([
        'validate',
        '--hubs',
        `${files.dir}/hubs`,
        '--forms',
        `${files.dir}/forms`,
        '--repo',
        `${files.dir}/manifests.git`,
      ]);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /f\.yaml, form web, resource c, field spec\.data\.A: .*nosuchfilter/);
      assert.match(bad.err, /field spec\.data\.B: .*undefined variable "typo"/);
      assert.match(bad.err, /field spec\.data\.C: /);
    } finally {
      await files.cleanup();
    }
  });

  test('a broken hub file exits 2 with file, line and field', async () => {
    const files = await tempFiles({
      'hubs/h.yaml': hubYaml().replace('activate: active', 'activate: 7'),
      'forms/.keep': '',
    });
    try {
      const result = await lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
      assert.equal(result.code, 2);
      assert.match(result.err, /^lynq: .*h\.yaml:\d+, field spec\.valueMappings\.activate: /);
    } finally {
      await files.cleanup();
    }
  });

  test("render prints one node's manifests from its row (demo hub, embedded Postgres)", async () => {
    const result = await lynq(['render', 'demo/web/acme']);
    assert.equal(result.code, 0, result.err);
    const docs = parseAllDocuments(result.out).map((doc) => doc.toJS() as { kind: string; metadata: { name: string } });
    assert.deepEqual(
      docs.map((doc) => doc.kind),
      ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'Kustomization', 'LynqNode'],
    );
    assert.match(result.out, /^# Source: nodes\/demo\/web\/acme\/web\.yaml$/m);
    const missing = await lynq(['render', 'demo/web/nobody']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no row with uid "nobody"/);
    assert.equal((await lynq(['render', 'demo-web-acme'])).code, 2);
  });

  test('npm start (lynq demo) creates a repository, syncs the demo into it, and is a no-op the second time', async () => {
    const files = await tempFiles();
    try {
      const env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
      const first = await lynq(['demo', '--dir', files.dir], env);
      assert.equal(first.code, 0, first.err + first.out);
      const repo = path.join(files.dir, 'manifests.git');
      assert.match(first.out, new RegExp(`manifests repository: ${repo}`));
      assert.match(first.out, /lynq\(demo\): 3 added/);
      const tree = await readTree(repo, 'main');
      assert.ok(tree.has('nodes/demo/web/acme/web.yaml'));
      assert.ok(![...tree.keys()].some((file) => file.includes('hooli')));
      const second = await lynq(['demo', '--dir', files.dir], env);
      assert.equal(second.code, 0);
      assert.match(second.out, /no changes/);
      assert.equal(await commitCount(repo, 'main'), 1);
      assert.equal((await logMessages(repo, 'main')).length, 1);
    } finally {
      await files.cleanup();
    }
  });
});

describe('structured logs', () => {
  test('a registered secret is scrubbed from messages, fields and errors', () => {
    const registry = new SecretRegistry();
    const out = captureStream();
    const logger = createLogger({ registry, destination: out, level: 'info' });
    registry.add('hunter2-token');
    logger.info(
      { hub: 'h', url: 'https://x:hunter2-token@example.com', nested: { list: ['hunter2-token'] } },
      'pushing',
    );
    logger.error({ err: new Error('auth failed for hunter2-token') }, 'failed hunter2-token');
    const text = out.text();
    assert.doesNotMatch(text, /hunter2-token/);
    assert.match(text, /\[redacted\]/);
    const first = JSON.parse(text.split('\n')[0]!) as Record<string, unknown>;
    assert.equal(first.msg, 'pushing');
    assert.equal(first.hub, 'h');
  });

  test('a long-running process keeps a bounded registry: the newest secrets, not every one it ever read', () => {
    const registry = new SecretRegistry(3);
    for (const value of ['token-1', 'token-2', 'token-3']) registry.add(value);
    registry.add('token-1'); // read again (the same credential every sync): it stays
    registry.add('token-4'); // rotated in: the oldest unused one goes
    assert.equal(registry.size, 3);
    assert.equal(registry.scrub('token-1 token-2 token-3 token-4'), '[redacted] token-2 [redacted] [redacted]');
    for (let i = 0; i < 10_000; i++) registry.add('token-4');
    assert.equal(registry.size, 3);
  });
});
