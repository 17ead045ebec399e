import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { tempFiles } from './helpers/files.ts';
import { lynq } from './helpers/cli.ts';
import { createMariadbDatabase, MARIADB } from './helpers/db.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'lynq');
const fixture = (...parts: string[]) => path.join(FIXTURES, ...parts);

/** Lynq's examples with a Deployment that has no selector (the form fails at load, as the API server would refuse it). */
const SELECTORLESS = new Set(['typed-values', 'templates-guide']);

describe('lynq import', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempFiles()));
  after(async () => cleanup());

  for (const set of ['api-reference', 'typed-values', 'templates-guide', 'e2e-template-functions']) {
    test(`${set}: every file is imported, and the output validates`, async () => {
      const out = path.join(dir, set);
      const result = await lynq(['import', fixture(set, 'hubs'), fixture(set, 'forms'), '--out', out]);
      assert.equal(result.err, '');
      if (SELECTORLESS.has(set)) {
        // Lynq's Deployment example has no spec.selector, which apps/v1 requires: the translation is refused at load, with the field.
        assert.equal(result.code, 2);
        assert.match(
          result.out,
          /form [a-z-]+: not imported: the translation does not load: .*field spec\.deployments\[0\]\.spec\.spec\.selector: is required \(Deployment schema\)/,
        );
        return;
      }
      assert.equal(result.code, 0);
      const forms = await readdir(path.join(out, 'forms'));
      assert.deepEqual(forms.sort(), (await readdir(fixture(set, 'forms'))).sort());
      assert.match(result.out, /: hub [a-z-]+: kept as it is -> /);
      assert.match(
        result.out,
        /differs {5}spec\.source\.mysql\.passwordRef: Lynq reads Secret [a-z-]+ from the cluster; here it is read from \$LYNQ_SECRETS_DIR\//,
      );
      assert.match(result.out, /: form [a-z0-9-]+: \d+ templates? translated -> /);
      assert.match(result.out, /translated {2}resource [a-z0-9-]+, nameTemplate: \{\{ \.uid[^\n]*=> {2}\{\{ uid/);
      const validated = await lynq([
        'validate',
        '--files-only',
        '--repo',
        'https://git.example.com/manifests.git',
        '--hubs',
        path.join(out, 'hubs'),
        '--forms',
        path.join(out, 'forms'),
      ]);
      assert.equal(validated.err, '');
      assert.equal(validated.code, 0);
      // Written in the bridge's syntax, and said so: no Lynq notes on validation any more.
      assert.doesNotMatch(validated.out, /labels are merged/);
      for (const form of forms) {
        const text = await readFile(path.join(out, 'forms', form), 'utf8');
        assert.equal(parse(text).metadata.annotations['lynq.sh/template-syntax'], 'nunjucks');
        assert.doesNotMatch(text, /\{\{-?\s*\./, `${form} still has a Go field`);
      }
    });
  }

  test('refused and unquoted forms are reported with the fix, not written, and the exit code says so', async () => {
    const out = path.join(dir, 'refused');
    const result = await lynq([
      'import',
      fixture('refused', 'forms'),
      fixture('unquoted', 'forms', 'unquoted.yaml'),
      fixture('api-reference', 'forms'),
      '--out',
      out,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.out, /refused\.yaml: form refused: not written: 1 template refused, 1 translated/);
    assert.match(
      result.out,
      /refused {5}resource encoding, spec\.data\.query: \{\{ \.param \| urlquery \}\}: urlquery is not offered/,
    );
    assert.match(
      result.out,
      /unquoted\.yaml: document: not imported: .*unquoted\.yaml:16, form unquoted, resource app, field spec\.spec\.replicas: .*quote it/,
    );
    assert.deepEqual(await readdir(path.join(out, 'forms')), ['web-app.yaml']);
  });

  test('non-deterministic functions are refused with what to use instead; without --out the files go to stdout', async () => {
    const { dir: inputs, cleanup: done } = await tempFiles({
      'clock.yaml': `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: clock
spec:
  hubId: customers
  configMaps:
    - id: stamp
      nameTemplate: "{{ .uid }}-stamp"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          at: "{{ now | date \\"2006-01-02\\" }}"
          token: "{{ randAlphaNum 16 }}"
          id: "{{ uuidv4 }}"
          home: '{{ env "HOME" }}'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-lynq
`,
      'plain.yaml': `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: plain
spec:
  hubId: customers
  configMaps:
    - id: config
      nameTemplate: "{{ .uid }}-config"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          plan: '{{ .plan | default "basic" | upper }}'
`,
    });
    try {
      const result = await lynq(['import', inputs]);
      assert.equal(result.code, 2);
      assert.match(result.err, /clock\.yaml: form clock: not written: 4 templates refused, 1 translated/);
      assert.match(
        result.err,
        /spec\.data\.at: \{\{ now \| date "2006-01-02" \}\}: now reads the clock, .*put the time in a column/,
      );
      assert.match(
        result.err,
        /spec\.data\.token: \{\{ randAlphaNum 16 \}\}: randAlphaNum is random, .*\{\{ \.uid \| sha1sum \| trunc 8 \}\}/,
      );
      assert.match(result.err, /spec\.data\.id: \{\{ uuidv4 \}\}: uuidv4 is random/);
      assert.match(result.err, /spec\.data\.home: \{\{ env "HOME" \}\}: env reads the bridge's environment/);
      assert.match(result.err, /clock\.yaml: ConfigMap: left out \(neither a LynqHub nor a LynqForm\)/);
      assert.match(result.err, /plain\.yaml: form plain: 2 templates translated$/m);
      const written = parse(result.out);
      assert.equal(written.metadata.name, 'plain');
      assert.equal(written.spec.configMaps[0].spec.data.plan, '{{ plan | default("basic") | upper }}');
    } finally {
      await done();
    }
  });

  test("a file of several documents: each is imported on its own, comments stay, lines are the file's", async () => {
    const hub = await readFile(fixture('api-reference', 'hubs', 'production-nodes.yaml'), 'utf8');
    const { dir: inputs, cleanup: done } = await tempFiles({
      'all.yaml': `# our hub\n${hub}---\n# our form\napiVersion: operator.lynq.sh/v1\nkind: LynqForm\nmetadata:\n  name: web\nspec:\n  hubId: production-nodes\n  configMaps:\n    - id: config\n      nameTemplate: "{{ .uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          PLAN: {{ .planId }}\n`,
    });
    try {
      const out = path.join(dir, 'multi');
      const result = await lynq(['import', path.join(inputs, 'all.yaml'), '--out', out]);
      assert.equal(result.code, 2);
      assert.match(result.out, /all\.yaml: hub production-nodes: kept as it is/);
      const lines = `# our hub\n${hub}`.split('\n').length;
      assert.match(
        result.out,
        new RegExp(
          `all\\.yaml:${lines + 15}, form web, resource config, field spec\\.data\\.PLAN: a template left unquoted`,
        ),
      );
      assert.equal(await readFile(path.join(out, 'hubs', 'production-nodes.yaml'), 'utf8'), `# our hub\n${hub}`);
    } finally {
      await done();
    }
  });

  test('kubectl get lynqhubs,lynqforms -o yaml: a List, with status and server metadata, read from a subfolder, imports as the files do', async () => {
    const set = 'api-reference';
    const objects = [];
    for (const kind of ['hubs', 'forms']) {
      for (const name of await readdir(fixture(set, kind))) {
        const object = parse(await readFile(fixture(set, kind, name), 'utf8')) as {
          metadata: Record<string, unknown>;
          status?: unknown;
        };
        object.metadata.resourceVersion = '4711';
        object.metadata.uid = '6c1f0e1e-0000-4000-8000-000000000000';
        object.metadata.managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update' }];
        object.metadata.annotations = {
          ...(object.metadata.annotations as object),
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
        };
        object.status = { observedGeneration: 1 };
        objects.push(object);
      }
    }
    const listDir = path.join(dir, 'from-cluster', 'dump');
    await mkdir(listDir, { recursive: true });
    await writeFile(
      path.join(listDir, 'all.yaml'),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects }),
    );
    const out = path.join(dir, 'out-list');
    const result = await lynq(['import', path.join(dir, 'from-cluster'), '--out', out]);
    assert.equal(result.code, 0, result.err + result.out);
    const direct = path.join(dir, 'out-direct');
    assert.equal((await lynq(['import', fixture(set), '--out', direct])).code, 0);
    for (const kind of ['hubs', 'forms']) {
      for (const name of await readdir(path.join(direct, kind))) {
        const fromList = parse(await readFile(path.join(out, kind, name), 'utf8'));
        assert.deepEqual(fromList, parse(await readFile(path.join(direct, kind, name), 'utf8')), `${kind}/${name}`);
      }
    }
  });

  test('nothing to import is an error, not a silent success', async () => {
    await writeFile(path.join(dir, 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
    const result = await lynq(['import', path.join(dir, 'configmap.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.err, /lynq: nothing imported: no LynqHub or LynqForm in .*configmap\.yaml/);
  });

  test('a missing input is a usage error', async () => {
    const result = await lynq(['import', path.join(dir, 'no-such-folder')]);
    assert.equal(result.code, 2);
    assert.match(result.err, /no-such-folder: cannot read this file or folder/);
  });

  test('what import writes renders the same manifests as the original, through lynq render', async () => {
    // Lynq's e2e hub as it is (MySQL, passwordRef { name, key }), pointed at the test MariaDB
    // and seeded with the row Lynq's e2e test inserts; the Secret is a mounted-style file.
    const db = await createMariadbDatabase();
    try {
      await db.exec(
        "CREATE TABLE nodes (id varchar(64) PRIMARY KEY, active tinyint, replicas varchar(8), app_port varchar(8)); INSERT INTO nodes VALUES ('func-test-uid', 1, '3', '8080');",
      );
      const secrets = path.join(dir, 'secrets');
      await mkdir(path.join(secrets, 'mysql-root-password'), { recursive: true });
      await writeFile(path.join(secrets, 'mysql-root-password', 'password'), '');
      const env = { LYNQ_SECRETS_DIR: secrets };
      const original = path.join(dir, 'render', 'original');
      await mkdir(path.join(original, 'hubs'), { recursive: true });
      await cp(fixture('e2e-template-functions', 'forms'), path.join(original, 'forms'), { recursive: true });
      const hub = (await readFile(fixture('e2e-template-functions', 'hubs', 'template-func-hub.yaml'), 'utf8'))
        .replace('host: mysql.lynq-policy-test.svc.cluster.local', `host: ${MARIADB.host}`)
        .replace('database: testdb', `database: ${db.name}`);
      await writeFile(path.join(original, 'hubs', 'template-func-hub.yaml'), hub);
      const imported = path.join(dir, 'render', 'imported');
      const result = await lynq([
        'import',
        path.join(original, 'hubs'),
        path.join(original, 'forms'),
        '--out',
        imported,
      ]);
      assert.equal(result.code, 0, result.out + result.err);
      for (const form of [
        'typed-int',
        'typed-bool',
        'typed-float',
        'trunc63',
        'default-int',
        'sprig',
        'context',
        'labeled',
        'sha1sum',
      ]) {
        const args = (root: string) => [
          'render',
          `template-func-hub/${form}/func-test-uid`,
          '--hubs',
          path.join(root, 'hubs'),
          '--forms',
          path.join(root, 'forms'),
        ];
        const before = await lynq(args(original), env);
        const after = await lynq(args(imported), env);
        assert.equal(before.code, 0, before.err);
        assert.equal(after.code, 0, after.err);
        assert.match(before.out, /# Source: nodes\/template-func-hub\//);
        assert.equal(after.out, before.out, form);
      }
    } finally {
      await db.drop();
    }
  });
});
