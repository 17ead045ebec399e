import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { closedPort, createPostgresDatabase } from './helpers/db.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

// What a newcomer met: `lynq validate` said ok where `lynq sync` then failed, stopped at the
// first problem, or named the wrong field. Each case here is one of those, as a user writes it.

async function validate(
  files: Record<string, string>,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const dir = await tempFiles(files);
  try {
    return await lynq(['validate', '--hubs', `${dir.dir}/hubs`, '--forms', `${dir.dir}/forms`, ...args], env);
  } finally {
    await dir.cleanup();
  }
}

const CONFIG_MAP =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { PLAN: "{{ plan }}" }\n';
const PASSWORD = '      passwordRef: { env: LYNQ_TEST_UNSET_PASSWORD }\n';
const hubWith = (spec: string, password = '') =>
  hubYaml({ extra: { plan: 'plan' }, spec }).replace(
    '      username: postgres\n',
    `      username: postgres\n${password}`,
  );

describe('lynq validate checks what a sync here would stop on, all at once', () => {
  test('no spec.publish, an unset password variable and a hub no form names: three problems, exit 2, each at its line', async () => {
    const result = await validate({ 'hubs/customers.yaml': hubWith('', PASSWORD), 'forms/.keep': '' });
    assert.equal(result.code, 2, result.out);
    const lines = result.err.trimEnd().split('\n');
    assert.equal(lines.length, 3, result.err);
    assert.match(lines[0]!, /customers\.yaml:\d+, hub customers, field spec\.publish: spec\.publish\.repo is required/);
    assert.match(
      lines[1]!,
      /customers\.yaml:12, hub customers, field spec\.source\.postgresql\.passwordRef: environment variable LYNQ_TEST_UNSET_PASSWORD is not set/,
    );
    assert.match(lines[2]!, /hub customers: no form in .* names this hub \(spec\.hubId: customers\)/);
  });

  test('a set variable passes; --files-only leaves the environment and local paths unchecked', async () => {
    const files = {
      'hubs/customers.yaml': hubWith('  publish:\n    repo: ../no-such-repo.git\n', PASSWORD),
      'forms/web.yaml': formYaml(CONFIG_MAP),
    };
    const missing = await validate(files, [], { LYNQ_TEST_UNSET_PASSWORD: 'secret' });
    assert.equal(missing.code, 2);
    assert.match(
      missing.err,
      /field spec\.publish\.repo: the manifests repository .*no-such-repo\.git does not exist: create it \(git init --bare /,
    );
    assert.doesNotMatch(missing.err, /secret/);
    const filesOnly = await validate(files, ['--files-only']);
    assert.equal(filesOnly.code, 0, filesOnly.err);
  });

  test('a missing secret file is named with the fix', async () => {
    const result = await validate({
      'hubs/customers.yaml': hubWith(
        '  publish:\n    repo: https://git.example.com/m.git\n',
        '      passwordRef: { file: /nonexistent/lynq/password }\n',
      ),
      'forms/web.yaml': formYaml(CONFIG_MAP),
    });
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /field spec\.source\.postgresql\.passwordRef: cannot read secret file \/nonexistent\/lynq\/password: mount the Secret there/,
    );
  });

  test('every unquoted template of a form at once, each at its line', async () => {
    const form = formYaml(
      '  configMaps:\n    - id: a\n      nameTemplate: {{ .uid }}-a\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          X: {{ .uid }}\n          Y: {{ .plan }}\n',
    );
    const result = await validate(
      {
        'hubs/customers.yaml': hubWith('  publish:\n    repo: https://git.example.com/m.git\n'),
        'forms/web.yaml': form,
      },
      ['--files-only'],
    );
    assert.equal(result.code, 2);
    assert.deepEqual(
      result.err
        .trimEnd()
        .split('\n')
        .map((line) => /web\.yaml:(\d+)/.exec(line)?.[1]),
      ['9', '14', '15'],
    );
  });

  test('a Lynq-style untyped replicas says to add | int; a mixed form names the field that made it Go syntax', async () => {
    const deployment = (name: string) =>
      `  deployments:\n    - id: app\n      nameTemplate: "${name}"\n      spec:\n        apiVersion: apps/v1\n        kind: Deployment\n        spec:\n          replicas: "{{ .replicas }}"\n          selector: { matchLabels: { app: x } }\n          template:\n            metadata: { labels: { app: x } }\n            spec:\n              containers: [{ name: app, image: nginx }]\n`;
    const hub = hubYaml({
      extra: { plan: 'plan', replicas: 'replicas' },
      spec: '  publish:\n    repo: https://git.example.com/m.git\n',
    });
    const untyped = await validate(
      { 'hubs/customers.yaml': hub, 'forms/web.yaml': formYaml(deployment('{{ .uid }}-app')) },
      ['--files-only'],
    );
    assert.equal(untyped.code, 2);
    assert.match(
      untyped.err,
      /web\.yaml:14, form web, field spec\.deployments\[0\]\.spec\.spec\.replicas: must be an integer, and the template "\{\{ replicas \}\}" gives a string: end it with \| int, as in "\{\{ replicas \| int \}\}"/,
    );
    const mixed = await validate(
      { 'hubs/customers.yaml': hub, 'forms/web.yaml': formYaml(deployment('{{ uid }}-app')) },
      ['--files-only'],
    );
    assert.equal(mixed.code, 2);
    assert.match(
      mixed.err,
      /field nameTemplate: Go template "\{\{ uid \}\}-app": function "uid" is not available here .*the whole form is read as Lynq's Go-template syntax because resource app, field spec\.spec\.replicas is written in it: "\{\{ \.replicas \}\}"/,
    );
  });
});

describe('lynq validate --connect reads each hub’s rows once, as a sync would', () => {
  test('a mapped column the table lacks is a config problem at the mapping’s line; with the column, ok; a database that cannot be reached is exit 3', async () => {
    const db = await createPostgresDatabase();
    try {
      await db.exec(
        "CREATE TABLE customers (id text, active boolean, tier text); INSERT INTO customers VALUES ('acme', true, 'gold')",
      );
      const hub = (column: string, port?: number) =>
        hubYaml({
          database: db.name,
          port,
          extra: { plan: column },
          spec: '  publish:\n    repo: https://git.example.com/m.git\n',
        });
      const files = (column: string, port?: number) => ({
        'hubs/customers.yaml': hub(column, port),
        'forms/web.yaml': formYaml(CONFIG_MAP),
      });
      const missing = await validate(files('plan'), ['--files-only', '--connect']);
      assert.equal(missing.code, 2, missing.err);
      assert.match(
        missing.err,
        /customers\.yaml:\d+, hub customers, field spec\.extraValueMappings\.plan: column "plan" is not in the query result \(columns: id, active, tier\)/,
      );
      // Without --connect the same files pass: the columns are only known to the database.
      assert.equal((await validate(files('plan'), ['--files-only'])).code, 0);
      const present = await validate(files('tier'), ['--files-only', '--connect']);
      assert.equal(present.code, 0, present.err);
      const down = await validate(files('tier', await closedPort()), ['--files-only', '--connect']);
      assert.equal(down.code, 3, down.err);
      assert.match(down.err, /hub customers/);
    } finally {
      await db.drop();
    }
  });
});
