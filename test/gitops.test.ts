import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ConfigError, RenderError } from '../src/errors.ts';
import { toArgoIgnorePath } from '../src/config/json-path.ts';
import { pointerToPath, validateManifest } from '../src/config/k8s-schema.ts';
import { testHub } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';
import { LISTS, renderTestNode as render } from './helpers/render.ts';

const run = promisify(execFile);

const LABELS = `  labels:
    lynq.sh/form: web
    lynq.sh/hub: customers
    lynq.sh/node: acme-web
    lynq.sh/uid: acme
`;

describe('Argo CD: one Application per node', () => {
  test('at <appsRoot>/<hub>/<form>/<uid>.yaml: the node folder, the resources finalizer, lynq.sh labels, defaults from the hub', () => {
    const node = render('    engine: argocd\n');
    assert.equal(node.appFile?.path, 'apps/customers/web/acme.yaml');
    assert.equal(
      node.appFile.content,
      `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: customers-web-acme
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
${LABELS}spec:
  destination:
    namespace: tenants
    server: https://kubernetes.default.svc
  project: default
  source:
    path: nodes/customers/web/acme
    repoURL: https://git.example.com/manifests.git
    targetRevision: live
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
    );
    assert.deepEqual(
      node.files.map((file) => file.name),
      ['ns.yaml', 'settings.yaml', 'service.yaml', 'kustomization.yaml', 'lynqnode.yaml'],
      'Argo CD needs no per-level folders: sync waves order the node',
    );
    assert.match(
      node.files.find((file) => file.name === 'service.yaml')!.content,
      /argocd\.argoproj\.io\/sync-wave: "2"/,
    );
  });

  test("the hub's settings: project, destination, repo and revision, sync policy and options", () => {
    const node = render(`    engine: argocd
    appsRoot: deploy/apps
    argocd:
      namespace: gitops
      project: tenants
      repoURL: ssh://git@git.example.com/manifests.git
      targetRevision: v2
      destination:
        name: prod-eu
        namespace: apps
      syncPolicy:
        automated: false
        syncOptions: [CreateNamespace=true]
`);
    assert.equal(node.appFile?.path, 'deploy/apps/customers/web/acme.yaml');
    const app = node.appFile.content;
    assert.match(app, /^  name: customers-web-acme\n  namespace: gitops\n/m);
    assert.equal(
      app.slice(app.indexOf('spec:\n')),
      `spec:
  destination:
    name: prod-eu
    namespace: apps
  project: tenants
  source:
    path: nodes/customers/web/acme
    repoURL: ssh://git@git.example.com/manifests.git
    targetRevision: v2
  syncPolicy:
    syncOptions:
      - CreateNamespace=true
`,
    );
  });

  test('a long name stays a DNS label (Argo CD uses it as a label value), cut from the left so the uid stays, with a hash suffix', () => {
    const uid = `${'a'.repeat(40)}-acme`;
    const node = render('    engine: argocd\n', LISTS, uid, 'a-long-form-name');
    const name = /^  name: (.+)$/m.exec(node.appFile!.content)![1]!;
    assert.ok(name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name), name);
    assert.match(name, /^[a-z-]*a+-acme-[0-9a-f]{8}$/);
  });

  test('engine none (the default): no apps file, and the same resource files', () => {
    const none = render('    engine: none\n');
    const argo = render('    engine: argocd\n');
    assert.equal(none.appFile, undefined);
    for (const name of ['ns.yaml', 'settings.yaml', 'service.yaml', 'kustomization.yaml']) {
      assert.equal(
        none.files.find((file) => file.name === name)?.content,
        argo.files.find((file) => file.name === name)?.content,
        name,
      );
    }
    assert.doesNotMatch(none.files.find((file) => file.name === 'lynqnode.yaml')!.content, /gitops:/);
    assert.match(
      argo.files.find((file) => file.name === 'lynqnode.yaml')!.content,
      /  gitops:\n    engine: argocd\n    objects:\n      - apiVersion: argoproj\.io\/v1alpha1\n        kind: Application\n        name: customers-web-acme\n        namespace: argocd\n/,
    );
  });
});

describe('Flux: Kustomizations per node', () => {
  test('one DAG level: one Kustomization of the node folder, with prune, wait and the longest timeout', () => {
    const node = render(
      `    engine: flux
    flux:
      sourceRef: { name: manifests, namespace: sources }
      interval: 5m
      retryInterval: 1m
      serviceAccountName: tenant-deployer
      targetNamespace: tenants
`,
      `  configMaps:\n    - id: settings\n      nameTemplate: settings\n      timeoutSeconds: 90\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n`,
    );
    assert.equal(
      node.appFile?.content,
      `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: customers-web-acme
  namespace: flux-system
${LABELS}spec:
  interval: 5m
  path: ./nodes/customers/web/acme
  prune: true
  retryInterval: 1m
  serviceAccountName: tenant-deployer
  sourceRef:
    kind: GitRepository
    name: manifests
    namespace: sources
  targetNamespace: tenants
  timeout: 1m30s
  wait: true
`,
    );
    assert.ok(!node.files.some((file) => file.name.startsWith('levels/')));
  });

  test('several levels: one Kustomization per level, chained with dependsOn, each waiting; kustomize builds each level', async () => {
    const node = render('    engine: flux\n');
    const docs = parseAllDocuments(node.appFile!.content).map(
      (doc) => doc.toJS() as { metadata: { name: string }; spec: Record<string, unknown> },
    );
    assert.deepEqual(
      docs.map((doc) => [doc.metadata.name, doc.spec.path, doc.spec.dependsOn, doc.spec.wait]),
      [
        ['customers-web-acme', './nodes/customers/web/acme/levels/0', undefined, true],
        ['customers-web-acme-level-1', './nodes/customers/web/acme/levels/1', [{ name: 'customers-web-acme' }], true],
        [
          'customers-web-acme-level-2',
          './nodes/customers/web/acme/levels/2',
          [{ name: 'customers-web-acme-level-1' }],
          true,
        ],
      ],
    );
    for (const doc of docs) assert.equal(validateManifest(doc as unknown as Record<string, unknown>), undefined);
    assert.equal(
      node.files.find((file) => file.name === 'levels/0/kustomization.yaml')?.content,
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../ns.yaml\n  - ../../lynqnode.yaml\n',
    );
    // kustomize-controller builds with LoadRestrictionsNone (inside the source), as here.
    const files = await tempFiles(Object.fromEntries(node.files.map((file) => [file.name, file.content])));
    try {
      const kinds: string[][] = [];
      for (const level of [0, 1, 2]) {
        const { stdout } = await run('kubectl', [
          'kustomize',
          '--load-restrictor',
          'LoadRestrictionsNone',
          path.join(files.dir, 'levels', String(level)),
        ]);
        kinds.push(stdout.split(/^---$/m).map((doc) => /^kind: (\w+)$/m.exec(doc)![1]!));
      }
      assert.deepEqual(kinds, [['Namespace', 'LynqNode'], ['ConfigMap'], ['Service']]);
      const { stdout } = await run('kubectl', ['kustomize', files.dir]);
      assert.equal(stdout.split(/^---$/m).length, 4, 'the node folder itself still builds everything');
    } finally {
      await files.cleanup();
    }
  });
});

describe('schema validation', () => {
  const deployment = (containers: string, replicas = '2') => `  deployments:
    - id: app
      nameTemplate: app
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          replicas: ${replicas}
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: ${containers}
`;
  const failsAtLoad = (lists: string, expected: RegExp) =>
    assert.throws(
      () => render('    engine: none\n', lists),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, expected);
        return true;
      },
    );
  const fails = (lists: string, expected: RegExp) =>
    assert.throws(
      () => render('    engine: none\n', lists),
      (error: unknown) => {
        assert.ok(error instanceof RenderError, String(error));
        assert.match(error.message, expected);
        return true;
      },
    );

  test('a rendered manifest that breaks the Kubernetes OpenAPI schema fails its node with the path of the bad field', () => {
    // What is wrong as written fails the form at load (lynq validate says it); what a row makes wrong fails the node.
    failsAtLoad(
      deployment('[{ image: nginx }]'),
      /form web, field spec\.deployments\[0\]\.spec\.spec\.template\.spec\.containers\[0\]\.name: is required \(Deployment schema\)$/,
    );
    // A template that can only give a string, in an integer field, fails every row: the form fails at load, with the fix.
    failsAtLoad(
      deployment('[{ name: app, image: nginx }]', '"{{ plan }}"'),
      /field spec\.deployments\[0\]\.spec\.spec\.replicas: must be an integer, and the template "\{\{ plan \}\}" gives a string: end it with \| int/,
    );
    fails(
      deployment('[{ name: app, image: nginx, resources: { limits: { cpu: "{{ plan }}" } } }]'),
      /field spec\.spec\.template\.spec\.containers\[0\]\.resources\.limits\.cpu: must be number or must match format "quantity"/,
    );
    failsAtLoad(
      deployment('[{ name: app, image: nginx, resources: { limits: { cpu: lots } } }]'),
      /field spec\.deployments\[0\]\.spec\.spec\.template\.spec\.containers\[0\]\.resources\.limits\.cpu: must be number or must match format "quantity"/,
    );
    failsAtLoad(
      deployment('[{ name: app }]')
        .replace('kind: Deployment', 'kind: Deploymnet')
        .replace('  deployments:', '  manifests:'),
      /field spec\.manifests\[0\]\.spec\.kind: Deploymnet is not a kind of apps\/v1 in the Kubernetes OpenAPI schema: did you mean Deployment\?/,
    );
    assert.doesNotThrow(() => render('    engine: none\n', deployment('[{ name: app, image: nginx }]')));
  });

  test('kinds of other API groups are not checked; Argo CD and Flux kinds are, against their CRD schemas', () => {
    assert.equal(validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { anything: 1 } }), undefined);
    assert.deepEqual(
      validateManifest({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'x' },
        spec: { project: 'p', destination: {}, source: { repoURL: 'r', path: 7 } },
      }),
      {
        path: 'spec.source.path',
        message: 'must be string',
      },
    );
    assert.deepEqual(
      validateManifest({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'x' },
        spec: { interval: '5m', prune: 'yes', sourceRef: { kind: 'GitRepository', name: 's' } },
      }),
      {
        path: 'spec.prune',
        message: 'must be boolean',
      },
    );
    assert.equal(pointerToPath('/metadata/labels/a~1b'), 'metadata.labels["a/b"]');
  });
});

describe('hub settings', () => {
  test('Argo CD needs a repository URL it can reach; the apps folder must be apart from the node folders', () => {
    assert.throws(
      () => testHub({ spec: '  publish:\n    repo: ../manifests.git\n  gitops:\n    engine: argocd\n' }),
      (error: unknown) =>
        error instanceof ConfigError && /field spec\.gitops\.argocd\.repoURL: is required/.test(error.message),
    );
    assert.doesNotThrow(() =>
      testHub({ spec: '  publish:\n    repo: ../manifests.git\n  gitops:\n    engine: none\n' }),
    );
    assert.throws(
      () => testHub({ spec: '  gitops:\n    appsRoot: nodes/apps\n' }),
      /field spec\.gitops\.appsRoot: must be a folder apart from spec\.publish\.root/,
    );
    assert.throws(
      () => testHub({ spec: '  gitops:\n    appsRoot: ../apps\n' }),
      /field spec\.gitops\.appsRoot: must be a folder inside the repository/,
    );
    assert.throws(
      () => testHub({ spec: '  gitops:\n    engine: flux\n    flux:\n      interval: ten minutes\n' }),
      /field spec\.gitops\.flux\.interval: must be a duration/,
    );
  });

  test('ignoreFields become JSON Pointers, or jq paths when they have wildcards or filters', () => {
    assert.deepEqual(toArgoIgnorePath('$.spec.replicas'), { jsonPointer: '/spec/replicas' });
    assert.deepEqual(toArgoIgnorePath("$.metadata.annotations['a/b~c']"), {
      jsonPointer: '/metadata/annotations/a~1b~0c',
    });
    assert.deepEqual(toArgoIgnorePath('$.spec.template.spec.containers[0].image'), {
      jsonPointer: '/spec/template/spec/containers/0/image',
    });
    assert.deepEqual(toArgoIgnorePath('$.spec.containers[*].image'), { jqPathExpression: '.spec.containers[].image' });
    assert.deepEqual(toArgoIgnorePath("$.spec.containers[?(@.name == 'app' && @.x)].env"), {
      jqPathExpression: '.spec.containers[] | select(.name == "app" and .x != null) | .env',
    });
    assert.deepEqual(toArgoIgnorePath('$.data.*'), { jqPathExpression: '.data[]' });
  });
});
