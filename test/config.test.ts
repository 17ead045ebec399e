import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { jsonSchemas } from '../src/config/json-schemas.ts';
import { loadConfig, parseForm, parseHub } from '../src/config/load.ts';
import { ConfigError } from '../src/errors.ts';
import { tempFiles } from './helpers/files.ts';

const HUB = `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: customers
spec:
  source:
    type: postgresql
    postgresql:
      host: 127.0.0.1
      database: test
      table: customers
  valueMappings:
    uid: id
    activate: active
`;

const form = (resources: string, hubId = 'customers') => `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: web
spec:
  hubId: ${hubId}
${resources}`;

const CM = (id: string, dependIds = '[]') => `    - id: ${id}
      dependIds: ${dependIds}
      nameTemplate: "{{ uid }}-${id}"
      spec:
        apiVersion: v1
        kind: ConfigMap
`;

function assertConfigError(fn: () => unknown, expected: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.match(error.message, expected);
    return true;
  });
}

describe('hub and form files', () => {
  test('every example in hubs/ and forms/ loads, with Lynq defaults applied', async () => {
    const config = await loadConfig({ hubsDir: 'hubs', formsDir: 'forms' });
    assert.ok(config.hubs.size >= 1);
    assert.ok(config.forms.length >= 1);
    const demo = config.hubs.get('demo');
    assert.equal(demo?.spec.publish.branch, 'main');
    assert.equal(demo?.spec.deletionGuard.maxDeletePercent, 50);
    const web = config.forms.find((item) => item.name === 'web');
    const deployment = web?.resources.find((resource) => resource.id === 'web');
    assert.equal(deployment?.creationPolicy, 'WhenNeeded');
    assert.equal(deployment?.deletionPolicy, 'Delete');
    assert.equal(deployment?.conflictPolicy, 'Stuck');
    assert.equal(deployment?.patchStrategy, 'apply');
    assert.equal(deployment?.timeoutSeconds, 300);
    assert.equal(deployment?.waitForReady, true);
    assert.equal(deployment?.skipOnDependencyFailure, true);
  });

  test('resources come in dependency order, with their DAG level', () => {
    const parsed = parseForm('web.yaml', form(`  configMaps:\n${CM('c', '[b]')}${CM('a')}${CM('b', '[a]')}`));
    assert.deepEqual(
      parsed.resources.map((resource) => [resource.id, resource.level]),
      [
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ],
    );
  });

  test('a file of another kind is an error naming the file', () => {
    assertConfigError(
      () => parseHub('hubs/x.yaml', HUB.replace('kind: LynqHub', 'kind: Deployment')),
      /^hubs\/x\.yaml: expected kind: LynqHub, found kind: Deployment$/,
    );
    assertConfigError(
      () => parseForm('forms/y.yaml', HUB),
      /^forms\/y\.yaml: expected kind: LynqForm, found kind: LynqHub/,
    );
  });

  test('a schema error names the file, the line and the field path', () => {
    const bad = HUB.replace('      table: customers\n', '      table: customers\n      port: "5432"\n');
    assertConfigError(() => parseHub('hubs/c.yaml', bad), /^hubs\/c\.yaml:12, field spec\.source\.postgresql\.port: /);
    const noUid = HUB.replace('    uid: id\n', '');
    assertConfigError(() => parseHub('hubs/c.yaml', noUid), /field spec\.valueMappings\.uid: /);
    const typo = HUB.replace('  valueMappings:', '  valueMapings:\n    uid: id\n  valueMappings:');
    assertConfigError(() => parseHub('hubs/c.yaml', typo), /hubs\/c\.yaml:\d+.*valueMapings/);
  });

  test('YAML syntax errors name the line', () => {
    assertConfigError(
      () => parseHub('hubs/s.yaml', `${HUB}  extra: [unclosed\n`),
      /^hubs\/s\.yaml:\d+: not valid YAML/,
    );
  });

  test('the source type needs its settings, and exactly one of table or query', () => {
    assertConfigError(
      () => parseHub('h.yaml', HUB.replace('type: postgresql', 'type: mysql')),
      /spec\.source\.mysql is required/,
    );
    assertConfigError(
      () => parseHub('h.yaml', HUB.replace('      table: customers\n', '')),
      /exactly one of table or query/,
    );
    assertConfigError(
      () => parseHub('h.yaml', HUB.replace('      table: customers\n', '      table: a\n      query: SELECT 1\n')),
      /exactly one of table or query/,
    );
  });

  test('the pull-request branch may not be the target branch', () => {
    assertConfigError(
      () => parseHub('h.yaml', `${HUB}  publish:\n    branch: prod\n    pullRequest:\n      branch: prod\n`),
      /^h\.yaml:\d+, field spec\.publish\.pullRequest\.branch: must differ from spec\.publish\.branch \(prod\)/,
    );
    assertConfigError(
      () => parseHub('h.yaml', `${HUB}  publish:\n    pullRequest:\n      branch: main\n`),
      /field spec\.publish\.pullRequest\.branch: must differ from spec\.publish\.branch \(main\)/,
    );
    assert.equal(
      parseHub('h.yaml', `${HUB}  publish:\n    pullRequest:\n      branch: lynq/review\n`).spec.publish.pullRequest
        .branch,
      'lynq/review',
    );
  });

  test('extra mappings may not reuse the variables the bridge defines', () => {
    assertConfigError(
      () => parseHub('h.yaml', `${HUB}  extraValueMappings:\n    uid: other\n`),
      /field spec\.extraValueMappings\.uid: .*reserved/,
    );
    assertConfigError(
      () => parseHub('h.yaml', `${HUB}  extraValueMappings:\n    "my-var": other\n`),
      /template identifier/,
    );
  });

  test('resource ids are unique across all lists', () => {
    const twice = form(
      `  configMaps:\n${CM('a')}  services:\n    - id: a\n      nameTemplate: a\n      spec: { apiVersion: v1, kind: Service }\n`,
    );
    assertConfigError(
      () => parseForm('f.yaml', twice),
      /^f\.yaml:\d+, field spec\.configMaps\[0\]\.id: resource id a is used twice \(also in spec\.services\)/,
    );
  });

  test('unknown dependIds and cycles are config errors; a cycle is shown', () => {
    assertConfigError(
      () => parseForm('f.yaml', form(`  configMaps:\n${CM('a', '[nope]')}`)),
      /resource a: dependIds of a names "nope"/,
    );
    assertConfigError(
      () => parseForm('f.yaml', form(`  configMaps:\n${CM('a', '[b]')}${CM('b', '[a]')}`)),
      /cycle: a -> b -> a/,
    );
    assertConfigError(() => parseForm('f.yaml', form(`  configMaps:\n${CM('a', '[a]')}`)), /a -> a/);
  });

  test('a form must name an existing hub; names are DNS labels', async () => {
    const files = await tempFiles({ 'hubs/c.yaml': HUB, 'forms/f.yaml': form(`  configMaps:\n${CM('a')}`, 'nohub') });
    try {
      await assert.rejects(
        loadConfig({ hubsDir: `${files.dir}/hubs`, formsDir: `${files.dir}/forms` }),
        /f\.yaml, field spec\.hubId: spec\.hubId names hub "nohub"/,
      );
    } finally {
      await files.cleanup();
    }
    assertConfigError(
      () => parseHub('h.yaml', HUB.replace('name: customers', 'name: Customers')),
      /field metadata\.name: must be a DNS label/,
    );
  });

  test('a resource id is a safe file name and not a reserved one', () => {
    assertConfigError(
      () => parseForm('f.yaml', form(`  configMaps:\n${CM('../x')}`)),
      /field spec\.configMaps\[0\]\.id/,
    );
    assertConfigError(() => parseForm('f.yaml', form(`  configMaps:\n${CM('kustomization')}`)), /reserved/);
  });

  test('a missing folder is a clear error', async () => {
    await assert.rejects(
      loadConfig({ hubsDir: '/nonexistent/hubs', formsDir: 'forms' }),
      /cannot read the hubs folder \/nonexistent\/hubs: there is no such folder; run lynq in the folder that holds hubs\/ and forms\/, or pass --hubs DIR/,
    );
  });
});

describe('output-schema/', () => {
  test('the JSON Schemas are the ones the code generates (npm run schemas)', async () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      const onDisk = await readFile(`output-schema/${name}`, 'utf8');
      assert.equal(
        onDisk,
        `${JSON.stringify(schema, null, 2)}\n`,
        `output-schema/${name} is stale: run npm run schemas`,
      );
    }
    const files = (await readdir('output-schema')).filter((name) => name.endsWith('.schema.json'));
    assert.deepEqual(files.sort(), Object.keys(jsonSchemas()).sort());
  });
});
