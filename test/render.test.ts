import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { LynqNodeFile } from '../src/config/node-schema.ts';
import { RenderError } from '../src/errors.ts';
import { renderHub, templateVariables } from '../src/plan/render-hub.ts';
import { formHash, renderNode, type RenderContext } from '../src/plan/node.ts';
import { checkRoot, checkUid, nodeDir } from '../src/render/paths.ts';
import { TemplateEngine } from '../src/render/template.ts';
import type { HubRow } from '../src/sources/rows.ts';
import { tempFiles } from './helpers/files.ts';
import { testForm, testHub } from './helpers/config.ts';

const run = promisify(execFile);
const hub = testHub({
  extra: { plan: 'plan', replicas: 'replicas', note: 'note', settings: 'settings', debug: 'debug' },
});

const CONFIG_MAP = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      labelsTemplate:
        plan: "{{ plan }}"
      annotationsTemplate:
        lynq.sh/note: "{{ note }}"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          NOTE: "{{ note }}"
          "{{ uid }}": literal key
`;
const DEPLOYMENT = `  deployments:
    - id: app
      dependIds: [settings]
      nameTemplate: "{{ uid }}-app"
      targetNamespace: "{{ uid }}"
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          replicas: "{{ replicas | int }}"
          paused: "{{ debug | bool }}"
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
              annotations:
                settings: "{{ settings | fromJson | toJson }}"
            spec:
              containers:
                - name: app
                  image: "nginx:{{ plan | default('1.27') }}"
`;

const row = (uid: string, values: Record<string, string> = {}): HubRow => ({
  uid,
  active: true,
  values: {
    uid,
    activate: 'true',
    plan: 'gold',
    replicas: '3',
    note: 'hello',
    settings: '{"a":[1,2]}',
    debug: 'false',
    ...values,
  },
});

function context(lists: string, formName = 'web'): RenderContext {
  const form = testForm(lists, { name: formName });
  return {
    hub,
    form,
    formHash: formHash(form),
    engine: new TemplateEngine(templateVariables(hub)),
    root: 'nodes',
    bridgeVersion: '0.0.0-test',
  };
}

function fileOf(node: ReturnType<typeof renderNode>, name: string): Record<string, any> {
  const file = node.files.find((item) => item.name === name);
  assert.ok(file, `no ${name}`);
  return parse(file.content) as Record<string, any>;
}

function assertRenderError(fn: () => unknown, expected: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RenderError, `expected a RenderError, got ${String(error)}`);
    assert.match(error.message, expected);
    return true;
  });
}

describe('rendering a node', () => {
  test('leaf by leaf: typed leaves, labels, annotations, namespaces, keys left alone', () => {
    const node = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme'));
    assert.equal(node.dir, 'nodes/customers/web/acme');
    assert.deepEqual(
      node.files.map((file) => file.name),
      ['settings.yaml', 'app.yaml', 'kustomization.yaml', 'lynqnode.yaml'],
    );
    const cm = fileOf(node, 'settings.yaml');
    assert.equal(cm.metadata.name, 'acme-settings');
    assert.equal(cm.metadata.namespace, 'tenants', 'the hub namespace is the default');
    assert.deepEqual(cm.metadata.labels, {
      plan: 'gold',
      'lynq.sh/hub': 'customers',
      'lynq.sh/form': 'web',
      'lynq.sh/uid': 'acme',
      'lynq.sh/node': 'acme-web',
    });
    assert.deepEqual(
      cm.metadata.annotations,
      { 'lynq.sh/note': 'hello', 'argocd.argoproj.io/sync-options': 'ServerSideApply=true' },
      'patchStrategy apply (the default) is server-side apply',
    );
    assert.deepEqual(cm.data, { NOTE: 'hello', '{{ uid }}': 'literal key' });
    const app = fileOf(node, 'app.yaml');
    assert.equal(app.metadata.namespace, 'acme');
    assert.equal(app.spec.replicas, 3);
    assert.equal(app.spec.paused, false);
    assert.equal(app.spec.template.metadata.annotations.settings, '{"a":[1,2]}');
    assert.equal(app.spec.template.spec.containers[0].image, 'nginx:gold');
    assert.deepEqual(fileOf(node, 'kustomization.yaml').resources, ['settings.yaml', 'app.yaml', 'lynqnode.yaml']);
  });

  test("a row value never changes a manifest's structure", () => {
    const node = renderNode(context(CONFIG_MAP), row('acme', { note: 'x\nkind: ClusterRole', plan: 'gold' }));
    const text = node.files.find((file) => file.name === 'settings.yaml')!.content;
    const docs = text.split(/^---$/m);
    assert.equal(docs.length, 1);
    const cm = parse(text) as Record<string, any>;
    assert.equal(cm.kind, 'ConfigMap');
    assert.equal(cm.data.NOTE, 'x\nkind: ClusterRole');
    assert.equal(cm.metadata.annotations['lynq.sh/note'], 'x\nkind: ClusterRole');
    assert.equal(Object.keys(cm).join(','), 'apiVersion,kind,metadata,data');
  });

  test('same inputs give byte-identical files; a changed column changes the input hash', () => {
    const a = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme'));
    const b = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme'));
    assert.deepEqual(a.files, b.files);
    const c = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme', { plan: 'silver' }));
    assert.notEqual(a.inputHash, c.inputHash);
    assert.notEqual(a.columnHashes.plan, c.columnHashes.plan);
    assert.equal(a.columnHashes.note, c.columnHashes.note);
  });

  test('the LynqNode names the node and validates against its schema and the CRD', async () => {
    const node = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme'));
    const lynqNode = fileOf(node, 'lynqnode.yaml');
    assert.equal(lynqNode.metadata.name, 'acme-web');
    assert.match(lynqNode.metadata.annotations['lynq.sh/input-hash'], /^sha256:[0-9a-f]{64}$/);
    assert.equal(lynqNode.metadata.annotations['lynq.sh/bridge-version'], '0.0.0-test');
    assert.equal(lynqNode.spec.uid, 'acme');
    assert.equal(lynqNode.spec.templateRef, 'web');
    assert.ok(LynqNodeFile.safeParse(lynqNode).success);
    const crd = parse(await readFile('output-schema/lynqnode-crd.yaml', 'utf8')) as any;
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    const validate = new Ajv({ strict: false }).compile(schema);
    assert.ok(validate(lynqNode), JSON.stringify(validate.errors));
    assert.equal(
      validate({ ...lynqNode, spec: { ...lynqNode.spec, resources: 'x' } }),
      false,
      'the CRD schema does check',
    );
  });

  test('kubectl kustomize builds the node folder', async () => {
    const node = renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme'));
    const files = await tempFiles(Object.fromEntries(node.files.map((file) => [file.name, file.content])));
    try {
      const { stdout } = await run('kubectl', ['kustomize', files.dir]);
      const kinds = stdout.split(/^---$/m).map((doc) => (parse(doc) as { kind: string }).kind);
      assert.deepEqual(kinds.sort(), ['ConfigMap', 'Deployment', 'LynqNode']);
    } finally {
      await files.cleanup();
    }
  });

  test('undefined variables are errors; default and d work on them', () => {
    const missing = `  configMaps:\n    - id: c\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          A: "{{ nope | upper }}"\n`;
    assertRenderError(
      () => renderNode(context(missing), row('acme')),
      /hub customers, form web, uid "acme", resource c, field spec\.data\.A: .*undefined variable "nope"/,
    );
    const guarded = missing.replace(
      '{{ nope | upper }}',
      "{{ nope | default('x') }}{{ nope | d('y') }}{% if nope is defined %}z{% endif %}",
    );
    assert.equal(fileOf(renderNode(context(guarded), row('acme')), 'c.yaml').data.A, 'xy');
    const empty = missing.replace('{{ nope | upper }}', "{{ note | default('fallback') }}");
    assert.equal(
      fileOf(renderNode(context(empty), row('acme', { note: '' })), 'c.yaml').data.A,
      'fallback',
      'NULL (empty) takes the default',
    );
  });

  test('with the spec walked once per run, each node still reports its first bad leaf in spec order, with its own path', () => {
    // A leaf that fails for some rows (an int that is not one) before a leaf whose template does not compile:
    const form = `  deployments:\n    - id: app\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: apps/v1\n        kind: Deployment\n        spec:\n          replicas: "{{ replicas | int }}"\n          selector:\n            matchLabels:\n              app: web\n          template:\n            metadata:\n              labels:\n                app: web\n            spec:\n              containers:\n                - name: a\n                - name: "{{ nope }}"\n`;
    const shared = context(form);
    assertRenderError(
      () => renderNode(shared, row('acme', { replicas: 'three' })),
      /uid "acme", resource app, field spec\.spec\.replicas: .*"three" is not an integer/,
    );
    assertRenderError(
      () => renderNode(shared, row('beta')),
      /uid "beta", resource app, field spec\.spec\.template\.spec\.containers\[1\]\.name: .*undefined variable "nope"/,
    );
    assertRenderError(
      () => renderNode(shared, row('acme', { replicas: 'three' })),
      /uid "acme", resource app, field spec\.spec\.replicas: /,
    );
    // One node's leaves do not leak into the next's: two rows through one engine give each its own manifest.
    const ok = context(CONFIG_MAP + DEPLOYMENT);
    const first = renderNode(ok, row('acme', { note: 'one', replicas: '1' }));
    const second = renderNode(ok, row('beta', { note: 'two', replicas: '2' }));
    assert.deepEqual([fileOf(first, 'settings.yaml').data.NOTE, fileOf(first, 'app.yaml').spec.replicas], ['one', 1]);
    assert.deepEqual([fileOf(second, 'settings.yaml').data.NOTE, fileOf(second, 'app.yaml').spec.replicas], ['two', 2]);
    assert.deepEqual(
      renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme', { note: 'one', replicas: '1' })).files,
      first.files,
      'a node renders the same through a used engine as through a new one',
    );
  });

  test('a typed leaf that cannot convert fails the node, naming the field', () => {
    assertRenderError(
      () => renderNode(context(CONFIG_MAP + DEPLOYMENT), row('acme', { replicas: 'three' })),
      /resource app, field spec\.spec\.replicas: .*"three" is not an integer/,
    );
  });

  test('bad names, labels, kinds and namespaces fail with the field', () => {
    const cm = (extra: string, name = '"{{ uid }}-x"') =>
      `  configMaps:\n    - id: c\n      nameTemplate: ${name}\n${extra}      spec:\n        apiVersion: v1\n        kind: ConfigMap\n`;
    assertRenderError(
      () => renderNode(context(cm('', '"{{ plan | upper }}"')), row('acme')),
      /field metadata\.name: name "GOLD" is not a DNS-1123 name/,
    );
    assertRenderError(
      () =>
        renderNode(
          context(cm('      labelsTemplate:\n        tier: "{{ note }}"\n')),
          row('acme', { note: 'has space' }),
        ),
      /label tier="has space"/,
    );
    assertRenderError(
      () => renderNode(context(cm('      targetNamespace: "{{ plan }}_ns"\n')), row('acme')),
      /field targetNamespace: namespace "gold_ns"/,
    );
    // The same mistakes written into the form itself fail it at load (test/static-checks.test.ts); made by a row, they fail the node.
    assertRenderError(
      () =>
        renderNode(context(cm('').replace('kind: ConfigMap', 'kind: "{{ note }}"')), row('acme', { note: 'Service' })),
      /in the configMaps list, so its kind must be ConfigMap, not Service/,
    );
    assertRenderError(
      () =>
        renderNode(
          context(cm('').replace('        apiVersion: v1\n', '        apiVersion: "{{ note }}"\n')),
          row('acme', { note: '' }),
        ),
      /field spec\.apiVersion: the manifest has no apiVersion/,
    );
    assertRenderError(() => renderNode(context(cm('', '"{{ note }}"')), row('acme', { note: '' })), /has no name/);
  });

  test('cluster-scoped kinds get no namespace', () => {
    const ns = `  namespaces:\n    - id: ns\n      nameTemplate: "{{ uid }}"\n      targetNamespace: ignored\n      spec:\n        apiVersion: v1\n        kind: Namespace\n`;
    assert.equal(fileOf(renderNode(context(ns), row('acme')), 'ns.yaml').metadata.namespace, undefined);
  });

  test('plaintext Secrets are refused, pointing at the alternatives', () => {
    const secret = `  secrets:\n    - id: creds\n      nameTemplate: "{{ uid }}-creds"\n      spec:\n        apiVersion: v1\n        kind: Secret\n        stringData: "{{ note | fromJson }}"\n`;
    assertRenderError(
      () => renderNode(context(secret), row('acme', { note: '{"password":"x"}' })),
      /resource creds, field spec\.stringData: is a Secret with plaintext data .*SealedSecret.*ExternalSecret.*SOPS/,
    );
    const sealed = `  manifests:\n    - id: creds\n      nameTemplate: "{{ uid }}-creds"\n      spec:\n        apiVersion: bitnami.com/v1alpha1\n        kind: SealedSecret\n        spec:\n          encryptedData:\n            password: AgBy3i4OJSWK+PiTySYZZA==\n`;
    assert.equal(fileOf(renderNode(context(sealed), row('acme')), 'creds.yaml').kind, 'SealedSecret');
  });

  test('a long uid and form still give a valid lynq.sh/node label', () => {
    const uid = 'a'.repeat(63);
    const node = renderNode(context(CONFIG_MAP, 'a-rather-long-form-name'), row(uid));
    const label = fileOf(node, 'settings.yaml').metadata.labels['lynq.sh/node'] as string;
    assert.ok(label.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label), label);
  });
});

describe('uids and paths', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['Acme', /uppercase/],
    ['a/b', /path separator/],
    ['..', /"\.\."/],
    ['a..b', /"\.\."/],
    ['has space', /white space/],
    ['a'.repeat(64), /64 characters/],
    ['-a', /not a DNS label/],
    ['a_b', /not a DNS label/],
  ];
  for (const [uid, reason] of bad) {
    test(`uid ${JSON.stringify(uid.length > 20 ? `${uid.slice(0, 8)}…` : uid)} fails its node with a clear message`, () => {
      assertRenderError(() => checkUid(uid, { hub: 'h' }), reason);
      assertRenderError(() => renderNode(context(CONFIG_MAP), row(uid)), /hub customers, form web, uid/);
    });
  }

  test('nothing is ever written outside root', () => {
    assert.throws(() => nodeDir('nodes', 'h', 'f', '../x'), RenderError);
    assert.throws(() => nodeDir('nodes', '..', 'f', 'x'), RenderError);
    assert.throws(() => checkRoot('../elsewhere', {}), /inside the repository/);
    assert.throws(() => checkRoot('/abs', {}), /inside the repository/);
    assert.throws(() => checkRoot('a/../../b', {}), /inside the repository/);
    assert.throws(() => checkRoot('.git/x', {}), /not inside \.git/);
    assert.equal(checkRoot('./clusters/prod/', {}), 'clusters/prod');
    const dir = nodeDir('nodes', 'h', 'f', 'x');
    assert.ok(!path.posix.relative('nodes', dir).startsWith('..'));
  });
});

describe('rendering a hub', () => {
  test('one bad row fails only its node; duplicate uids all fail, named', () => {
    const form = testForm(CONFIG_MAP);
    const rows = [
      row('acme'),
      row('Bad Uid'),
      row('dup'),
      row('dup', { plan: 'silver' }),
      { ...row('off'), active: false },
    ];
    const rendered = renderHub(hub, [form], rows, { root: 'nodes', bridgeVersion: 'x' });
    assert.deepEqual(
      rendered.nodes.map((node) => node.uid),
      ['acme'],
    );
    assert.equal(rendered.failures.length, 2);
    const failure = (uid: string): string | undefined => rendered.failures.find((item) => item.uid === uid)?.error;
    assert.match(failure('Bad Uid') ?? '', /uid "Bad Uid" contains white space/);
    assert.match(failure('dup') ?? '', /uid "dup": the uid appears in 2 active rows \(rows 3, 4\)/);
    assert.deepEqual([...rendered.inactive], ['off']);
  });

  test('each distinct template is compiled once per run', () => {
    const engine = new TemplateEngine(['uid']);
    const first = engine.compile('{{ uid }}-x', {});
    assert.equal(engine.compile('{{ uid }}-x', {}), first);
  });
});
