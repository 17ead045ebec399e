import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, type Config } from '../src/config/load.ts';
import { ConfigError, RenderError } from '../src/errors.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { lynq } from './helpers/cli.ts';

// Lynq's own published examples (test/fixtures/lynq/README.md says where each came from).
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'lynq');
const dirs = (hubs: string, forms = hubs) => ({
  hubsDir: path.join(FIXTURES, hubs, 'hubs'),
  formsDir: path.join(FIXTURES, forms, 'forms'),
});

/** Every resource of a form rendered for one row, as parsed manifests by resource id. */
function render(config: Config, formName: string, values: Record<string, string>): Record<string, any> {
  const form = config.forms.find((candidate) => candidate.name === formName)!;
  const hub = config.hubs.get(form.spec.hubId)!;
  const engine = new TemplateEngine(templateVariables(hub));
  const row = { uid: values.uid!, active: true, values: { activate: 'true', ...values } };
  const node = renderNode(
    { hub, form, formHash: formHash(form), engine, root: 'nodes', bridgeVersion: '0.0.0-test' },
    row,
  );
  return Object.fromEntries(
    node.resources.map((resource) => [
      resource.id,
      parse(node.files.find((file) => file.name === resource.file)!.content),
    ]),
  );
}

/** Lynq's examples with a Deployment that has no selector (refused at load, as the API server would refuse it). */
const SELECTORLESS = new Set(['typed-values', 'templates-guide']);

/** A copy of a fixture set whose Deployments get a selector after their replicas, so the rest of the example can be rendered. */
async function withSelectors(set: string): Promise<{ hubsDir: string; formsDir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-fixture-'));
  await cp(path.join(FIXTURES, set), dir, { recursive: true });
  for (const name of await readdir(path.join(dir, 'forms'))) {
    const file = path.join(dir, 'forms', name);
    const text = await readFile(file, 'utf8');
    if (!text.includes('kind: Deployment') || text.includes('selector:')) continue;
    await writeFile(
      file,
      text.replace(/^( +)replicas: (.*)$/m, '$1replicas: $2\n$1selector: { matchLabels: { app: example } }'),
    );
  }
  return { hubsDir: path.join(dir, 'hubs'), formsDir: path.join(dir, 'forms') };
}

describe("Lynq's published examples", () => {
  for (const set of ['api-reference', 'typed-values', 'templates-guide', 'e2e-template-functions']) {
    test(`${set}: lynq validate accepts them as they are (a Deployment without a selector excepted: it names that)`, async () => {
      const { hubsDir, formsDir } = dirs(set);
      const result = await lynq([
        'validate',
        '--files-only',
        '--repo',
        'https://git.example.com/manifests.git',
        '--hubs',
        hubsDir,
        '--forms',
        formsDir,
      ]);
      if (SELECTORLESS.has(set)) {
        assert.equal(result.code, 2);
        const lines = result.err.trimEnd().split('\n');
        for (const line of lines)
          assert.match(
            line,
            /form [a-z-]+, field spec\.deployments\[0\]\.spec\.spec\.selector: is required \(Deployment schema\)$/,
          );
        return;
      }
      assert.equal(result.err, '');
      assert.equal(result.code, 0);
      assert.match(result.out, /^ok: 1 hubs, \d+ forms/m);
      // Every one of them came in Go syntax, so each gets the notes on what differs.
      assert.match(result.out, /note: form [^:]+: labels are merged/);
    });
  }

  test('api-reference: the LynqForm example renders its ConfigMap, Deployment and Service', async () => {
    const config = await loadConfig(dirs('api-reference'));
    const out = render(config, 'web-app', { uid: 'acme', planId: 'gold', region: 'eu' });
    assert.deepEqual(out.config.data, { PLAN: 'gold', REGION: 'eu' });
    assert.equal(out.config.metadata.name, 'acme-config');
    assert.equal(out.config.metadata.namespace, 'lynq-system');
    assert.equal(out.app.metadata.name, 'acme-app');
    assert.equal(out.app.spec.template.spec.containers[0].envFrom[0].configMapRef.name, 'acme-config');
    assert.deepEqual(out.svc.spec.selector, { app: 'acme' });
  });

  test('typed-values: the Deployment without a selector fails as the API server would refuse it; its typed fields are checked first', async () => {
    await assert.rejects(
      loadConfig(dirs('typed-values')),
      /typed-app\.yaml:\d+, form typed-app, field spec\.deployments\[0\]\.spec\.spec\.selector: is required \(Deployment schema\)/,
    );
    const config = await loadConfig(await withSelectors('typed-values'));
    const values = {
      uid: 'acme',
      maxReplicas: '',
      mountToken: 'false',
      image: 'api:1',
      appPort: '8080',
      environment: 'prod',
      maxConns: '100',
      cpuLimit: '1.5',
      memoryLimit: '512',
      cpuRequest: '0.5',
      memoryRequest: '256',
    };
    // Lynq's example has no spec.selector, which apps/v1 requires (Lynq's apply would be refused too): refused at load above; with one, it renders.
    assert.equal(render(config, 'typed-app', values).app.spec.replicas, 2);
    // With a row whose typed value cannot convert, the typed filter fails first, naming the field.
    assert.throws(
      () => render(config, 'typed-app', { ...values, appPort: 'http' }),
      /field spec\.spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: .*int: "http" is not an integer/,
    );
  });

  test('templates-guide: conditions, printf, local variables, fromJson, list and range render as Lynq documents them', async () => {
    const config = await loadConfig(await withSelectors('templates-guide'));
    const values = {
      uid: 'acme',
      planId: 'enterprise',
      region: 'eu',
      maxReplicas: '3',
      autoMount: '',
      deployImage: '',
      appPort: '',
      cpuLimit: '',
      memoryLimit: '',
      customDomain: 'acme.io',
      domainVerified: 'true',
      domainUrl: 'https://acme.example.com:8080/path',
      config: '{"apiKey":"sk-abc","endpoint":"https://api.example.com"}',
      name: '  Acme  ',
      secret: 'hello',
      encoded: 'aGVsbG8=',
      data: 'test',
    };
    const names = render(config, 'names-and-conditions', values);
    assert.equal(names.names.metadata.name, 'acme-enterprise');
    assert.deepEqual(names.names.data, {
      pipeline: 'acme',
      conditional: 'eu-acme',
      short: '293abb6b-app',
      printf: 'acme-eu-deployment',
      local: 'acme-eu-web\n',
    });
    assert.deepEqual(names.conditions.data, { DEBUG: 'true', REPLICAS: '5', HOST: 'acme.io', CPU_LIMIT: '200m' });
    const functions = render(config, 'functions', values).functions.data;
    assert.equal(functions.HOST, 'acme.example.com');
    assert.equal(functions.API_KEY, 'sk-abc');
    assert.equal(functions.ENDPOINT, 'https://api.example.com');
    assert.equal(functions.trimmed, 'Acme');
    assert.equal(functions.quoted, '"  Acme  "');
    assert.equal(functions.b64enc, 'aGVsbG8=');
    assert.equal(functions.b64dec, 'hello');
    assert.equal(functions.tags, 'app,acme,eu');
    assert.equal(functions['endpoints.txt'], '\nus-east-1.example.com\nus-west-2.example.com\neu-west-1.example.com\n');
    // As in typed-values, Lynq's Deployment example has no selector: the form is refused at load.
    await assert.rejects(
      loadConfig(dirs('templates-guide')),
      /type-safe\.yaml:\d+, form type-safe, field spec\.deployments\[0\]\.spec\.spec\.selector: is required \(Deployment schema\)/,
    );
  });

  test("e2e-template-functions: the values Lynq's own e2e tests expect", async () => {
    const config = await loadConfig(dirs('e2e-template-functions'));
    const values = { uid: 'func-test-uid', replicas: '3', appPort: '8080' };
    const one = (form: string) => Object.values(render(config, form, values))[0];
    assert.equal(one('trunc63').metadata.name, 'func-test-uid-this-is-a-very-long-suffix-to-exceed-limit');
    assert.equal(one('sha1sum').data['known-hash'], 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3');
    assert.deepEqual(one('sprig').data, {
      'upper-uid': 'FUNC-TEST-UID',
      'lower-uid': 'func-test-uid',
      'default-val': 'fallback',
      'b64-encoded': 'ZnVuYy10ZXN0LXVpZA==',
      trimmed: 'spaces',
    });
    assert.deepEqual(one('context').data, {
      'hub-id': 'template-func-hub',
      'template-ref': 'context',
      uid: 'func-test-uid',
      activate: 'true',
    });
    const labeled = one('labeled');
    assert.equal(labeled.metadata.labels['tenant-id'], 'func-test-uid');
    assert.equal(labeled.metadata.annotations.description, 'Config for tenant func-test-uid');
    const typed = render(config, 'typed-int', values);
    assert.equal(typed['int-test-deploy'].spec.replicas, 3);
    assert.equal(typed['int-test-deploy'].spec.template.spec.containers[0].ports[0].containerPort, 8080);
    assert.deepEqual(typed['int-test-config'].data, { 'replicas-str': '3', 'port-str': '8080' });
    // Typed filters inside ConfigMap data keep a string (Lynq's rule).
    assert.deepEqual(one('typed-bool').data, {
      'true-from-string': 'true',
      'false-from-string': 'false',
      'true-from-one': 'true',
      'false-from-zero': 'false',
      'true-from-yes': 'true',
    });
    assert.deepEqual(one('typed-float').data, { 'cpu-limit': '1.5', 'memory-ratio': '0.75', 'integer-as-float': '42' });
    assert.equal(one('default-int').spec.replicas, 2);
  });

  test('refused: urlquery fails at load, naming form, resource, field and the original expression', async () => {
    await assert.rejects(loadConfig(dirs('templates-guide', 'refused')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /refused\.yaml, form refused, resource encoding, field spec\.data\.query: Go template "\{\{ \.param \| urlquery \}\}": urlquery is not offered/,
      );
      return true;
    });
  });

  test("templates-guide math: Lynq's Sprig math example (add), once refused, renders", async () => {
    const config = await loadConfig(await withSelectors('templates-guide'));
    assert.deepEqual(render(config, 'math', { uid: 'acme', basePort: '8080' }).math.data, { port: '9080' });
    assert.throws(
      () => render(config, 'math', { uid: 'acme', basePort: 'http' }),
      /resource math, field spec\.data\.port: .*add: "http" is not an integer/,
    );
  });

  test('unquoted: the template printed unquoted in Lynq\'s docs is found at load, with "quote it"', async () => {
    const result = await lynq([
      'validate',
      '--hubs',
      dirs('templates-guide').hubsDir,
      '--forms',
      dirs('unquoted').formsDir,
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /unquoted\.yaml:16, form unquoted, resource app, field spec\.spec\.replicas: a template left unquoted in YAML \(\{\{ ternary 5 2 \(eq \.planId "enterprise"\) \| int \}\}\) is read as a mapping, not a template: quote it/,
    );
  });

  test('int-strictness: where Lynq writes 0 for "not-a-number" | int, the node fails', async () => {
    const config = await loadConfig(dirs('e2e-template-functions', 'int-strictness'));
    assert.throws(
      () => render(config, 'invalid-int', { uid: 'func-test-uid', replicas: '3', appPort: '8080' }),
      (error: unknown) => {
        assert.ok(error instanceof RenderError);
        assert.match(
          error.message,
          /resource invalid-int-config, field spec\.data\.invalid-to-zero: .*int: "not-a-number" is not an integer/,
        );
        return true;
      },
    );
  });
});
