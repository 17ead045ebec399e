import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { closedPort, createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { makeBareRepo } from './helpers/git.ts';

// What a newcomer's mistakes get back: a message that names the problem and the fix, and the exit code.

const FORM = formYaml(
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n',
);

async function inFolder(files: Record<string, string>, args: (dir: string) => string[], env: NodeJS.ProcessEnv = {}) {
  const dir = await tempFiles(files);
  try {
    return await lynq(args(dir.dir), env);
  } finally {
    await dir.cleanup();
  }
}
const validateHub = (hub: string) =>
  inFolder({ 'hubs/customers.yaml': hub, 'forms/web.yaml': FORM }, (dir) => [
    'validate',
    '--hubs',
    `${dir}/hubs`,
    '--forms',
    `${dir}/forms`,
    '--repo',
    `${dir}/m.git`,
  ]);

describe('schema errors', () => {
  test('a misspelt key: did you mean, at the line of the key', async () => {
    const result = await validateHub(
      hubYaml({ extra: { plan: 'plan' } }).replace('extraValueMappings:', 'extraValueMapings:'),
    );
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /customers\.yaml:18, field spec\.extraValueMapings: unknown field extraValueMapings: did you mean `extraValueMappings`\?/,
    );
  });

  test('a missing section is "is required", and every problem is reported at once', async () => {
    const hub = hubYaml()
      .replace(/  valueMappings:\n    uid: id\n    activate: active\n/, '')
      .replace('connectTimeoutSeconds: 5', 'connectTimeoutSeconds: soon');
    const result = await validateHub(hub);
    assert.equal(result.code, 2);
    assert.match(result.err, /^lynq: .*customers\.yaml:6, field spec\.valueMappings: is required$/m);
    assert.match(
      result.err,
      /^lynq: .*customers\.yaml:14, field spec\.source\.postgresql\.connectTimeoutSeconds: must be a number, not string "soon"$/m,
    );
    assert.doesNotMatch(result.err, /Invalid input/);
  });

  test('an enum names its values', async () => {
    const result = await validateHub(hubYaml({ spec: '  publish:\n    mode: pr\n' }));
    assert.equal(result.code, 2);
    assert.match(result.err, /field spec\.publish\.mode: must be "push" or "pull-request", not string "pr"/);
  });

  test('two hubs in one file: one hub per file', async () => {
    const result = await validateHub(`${hubYaml()}---\n${hubYaml({ name: 'other' })}`);
    assert.equal(result.code, 2);
    assert.match(result.err, /customers\.yaml:\d+: one LynqHub per file: this file holds 2 YAML documents/);
    assert.doesNotMatch(result.err, /parseAllDocuments/);
  });

  test('an unquoted template: quote the template, at its line', async () => {
    // In a hub file (forms get config/lynq-syntax.ts's own message, which quotes the template too).
    const hub = await validateHub(hubYaml().replace('namespace: tenants', 'namespace: {{ uid }}'));
    assert.equal(hub.code, 2);
    assert.match(hub.err, /customers\.yaml:5: quote the template: .*"\{\{ … \}\}"/);
    const suffixed = await validateHub(hubYaml().replace('table: customers', 'table: {{ uid }}-customers'));
    assert.equal(suffixed.code, 2);
    assert.match(suffixed.err, /customers\.yaml:13: quote the template/);
    const form = await inFolder(
      {
        'hubs/customers.yaml': hubYaml(),
        'forms/web.yaml': FORM.replace('nameTemplate: "{{ uid }}"', 'nameTemplate: {{ uid }}'),
      },
      (dir) => ['validate', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`, '--repo', 'x'],
    );
    assert.equal(form.code, 2);
    assert.match(form.err, /web\.yaml:9, .*quote it, e\.g\. "\{\{ uid \}\}"/);
  });
});

describe('folders', () => {
  test('no hubs folder: the full path tried and the --hubs hint', async () => {
    const result = await inFolder({}, (dir) => [
      'sync',
      '--hubs',
      path.join(dir, 'hubs'),
      '--forms',
      path.join(dir, 'forms'),
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /^lynq: cannot read the hubs folder \/.*\/hubs: there is no such folder; run lynq in the folder that holds hubs\/ and forms\/, or pass --hubs DIR$/m,
    );
  });

  test('empty hubs and forms folders: nothing found, exit 2 (not an empty table)', async () => {
    const result = await inFolder({ 'hubs/.keep': '', 'forms/README.md': 'x' }, (dir) => [
      'sync',
      '--hubs',
      `${dir}/hubs`,
      '--forms',
      `${dir}/forms`,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.err, /no hub files \(\*\.yaml or \*\.yml\) in \/.*\/hubs: nothing to sync/);
    assert.equal(result.out, '');
    const noForms = await inFolder({ 'hubs/customers.yaml': hubYaml(), 'forms/.keep': '' }, (dir) => [
      'sync',
      '--hubs',
      `${dir}/hubs`,
      '--forms',
      `${dir}/forms`,
      '--repo',
      `${dir}/m.git`,
    ]);
    assert.equal(noForms.code, 2);
    assert.match(
      noForms.err,
      /^lynq: no form files \(\*\.yaml or \*\.yml\) in \/.*\/forms: nothing to render; pass --forms DIR if they are elsewhere$/m,
    );
    assert.equal(noForms.out, '');
  });
});

describe('flags and environment', () => {
  test('sync --diff without --dry-run is a usage error', async () => {
    const result = await lynq(['sync', '--diff']);
    assert.equal(result.code, 2);
    assert.match(result.err, /--diff shows what a dry run would change: use it with --dry-run/);
  });

  test('LYNQ_LOG_LEVEL: empty is the default, unknown names the variable and the allowed values', async () => {
    const empty = await lynq(['validate', '--files-only'], { LYNQ_LOG_LEVEL: '' });
    assert.equal(empty.code, 0, empty.err);
    const unknown = await lynq(['validate'], { LYNQ_LOG_LEVEL: 'verbose' });
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.err,
      'lynq: LYNQ_LOG_LEVEL is "verbose"; allowed: trace, debug, info, warn, error, fatal, silent (unset or empty: warn)\n',
    );
  });

  test('history --limit takes a whole number of at least 1', async () => {
    for (const limit of ['abc', '0', '-1', '2.5']) {
      const result = await lynq(['history', 'demo/web/acme', `--limit=${limit}`]);
      assert.equal(result.code, 2, limit);
      assert.match(
        result.err,
        /option '--limit <n>' argument '.*' is invalid\. must be a whole number of at least 1/,
        limit,
      );
    }
  });

  test('render and history read hub/form/uid the same way', async () => {
    for (const command of ['render', 'history']) {
      const result = await lynq([command, 'demo/web/Acme']);
      assert.equal(result.code, 2);
      assert.match(result.err, /"Acme" in "demo\/web\/Acme" is not a DNS label/);
      assert.match((await lynq([command, 'demo/web'])).err, /expected hub\/form\/uid, got "demo\/web"/);
    }
  });
});

describe('failures outside the config exit 3 in every command', () => {
  test('render when the database cannot be reached', async () => {
    const port = await closedPort();
    const result = await inFolder(
      { 'hubs/customers.yaml': hubYaml({ port, connectTimeoutSeconds: 2 }), 'forms/web.yaml': FORM },
      (dir) => ['render', 'customers/web/acme', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`],
    );
    assert.equal(result.code, 3, result.err);
  });

  test("history and sync when the repository does not exist: git's own reason and the git init --bare hint", async () => {
    const missing = path.join('/tmp', `lynq-no-such-repo-${process.pid}.git`);
    const history = await inFolder(
      { 'hubs/customers.yaml': hubYaml(), 'forms/web.yaml': FORM },
      (dir) => ['history', 'customers/web/acme', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`, '--repo', missing],
      { LYNQ_CACHE_DIR: path.join('/tmp', `lynq-cache-${process.pid}`) },
    );
    assert.equal(history.code, 3, history.err);
    assert.match(history.err, /does not appear to be a git repository.*git init --bare <path>/);
  });
});

describe('a hub whose every node failed', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
    await db.exec(
      "CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('Acme', true), ('Globex', true)",
    );
  });
  after(() => db.drop());

  test('says failed in the commit column, not "no changes"', async () => {
    const repo = await makeBareRepo();
    try {
      const result = await inFolder(
        { 'hubs/customers.yaml': hubYaml({ database: db.name }), 'forms/web.yaml': FORM },
        (dir) => ['sync', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`, '--repo', repo.dir],
        { LYNQ_CACHE_DIR: path.join(repo.dir, '..', 'cache') },
      );
      assert.equal(result.code, 1, result.err);
      assert.match(result.out, /^customers +0 +0 +0 +0 +0 +2 +failed$/m);
      const dry = await inFolder(
        { 'hubs/customers.yaml': hubYaml({ database: db.name }), 'forms/web.yaml': FORM },
        (dir) => ['sync', '--dry-run', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`, '--repo', repo.dir],
      );
      assert.match(dry.out, /^customers +0 +0 +0 +0 +0 +2 +failed$/m);
    } finally {
      await repo.cleanup();
    }
  });
});
