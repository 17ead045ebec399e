import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ConfigError } from '../src/errors.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import { gitBlobId } from '../src/render/hash.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import type { RenderedNode } from '../src/render/node.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { testForm, testHub } from './helpers/config.ts';

/**
 * Each Lynq policy, as the exact bytes it renders to. Annotations are the same whatever
 * the engine; the engine objects (Application, Kustomizations) carry the rest.
 */

const LABELS = `  labels:
    lynq.sh/form: web
    lynq.sh/hub: customers
    lynq.sh/node: acme-web
    lynq.sh/uid: acme
`;

function render(lists: string, engine: 'none' | 'argocd' | 'flux' = 'none', gitops = ''): RenderedNode {
  const hub = testHub({
    extra: { plan: 'plan' },
    spec: `  publish:\n    repo: https://git.example.com/manifests.git\n  gitops:\n    engine: ${engine}\n${gitops}`,
  });
  const form = testForm(lists);
  const context = {
    hub,
    form,
    formHash: formHash(form),
    engine: new TemplateEngine(templateVariables(hub)),
    root: 'nodes',
    bridgeVersion: '0.0.0-test',
  };
  return renderNode(context, { uid: 'acme', active: true, values: { uid: 'acme', activate: 'true', plan: 'gold' } });
}

function file(node: RenderedNode, name: string): string {
  const found = node.files.find((item) => item.name === name);
  assert.ok(found, `no ${name} in ${node.files.map((item) => item.name).join(', ')}`);
  return found.content;
}

const configMap = (id: string, extra = '', dependIds = '') => `    - id: ${id}
      nameTemplate: ${id}
${dependIds ? `      dependIds: [${dependIds}]\n` : ''}${extra}      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`;

const configMapFile = (name: string, annotations: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: tenants
${annotations ? `  annotations:\n${annotations}` : ''}${LABELS}data:
  PLAN: gold
`;

describe('Lynq policies, rendered', () => {
  test("dependIds: DAG levels become sync waves (level 0 has none: Argo CD's default wave)", () => {
    const node = render(
      `  configMaps:\n${configMap('a', '      patchStrategy: merge\n')}${configMap('b', '      patchStrategy: merge\n', 'a')}${configMap('c', '      patchStrategy: merge\n', 'b')}`,
    );
    assert.equal(file(node, 'a.yaml'), configMapFile('a', ''));
    assert.equal(file(node, 'b.yaml'), configMapFile('b', '    argocd.argoproj.io/sync-wave: "1"\n'));
    assert.equal(file(node, 'c.yaml'), configMapFile('c', '    argocd.argoproj.io/sync-wave: "2"\n'));
    assert.equal(
      file(node, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - a.yaml\n  - b.yaml\n  - c.yaml\n  - lynqnode.yaml\n',
    );
  });

  test('deletionPolicy Retain: Argo CD keeps it on prune and on Application deletion; Flux does not prune it', () => {
    const node = render(`  configMaps:\n${configMap('kept', '      deletionPolicy: Retain\n')}`);
    assert.equal(
      file(node, 'kept.yaml'),
      configMapFile(
        'kept',
        '    argocd.argoproj.io/sync-options: Prune=false,Delete=false,ServerSideApply=true\n    kustomize.toolkit.fluxcd.io/prune: disabled\n',
      ),
    );
  });

  test('patchStrategy: apply is server-side apply, replace is Replace=true (and Flux force), merge is the default', () => {
    const node = render(
      `  configMaps:\n${configMap('applied')}${configMap('replaced', '      patchStrategy: replace\n')}${configMap('merged', '      patchStrategy: merge\n')}`,
    );
    assert.equal(
      file(node, 'applied.yaml'),
      configMapFile('applied', '    argocd.argoproj.io/sync-options: ServerSideApply=true\n'),
    );
    assert.equal(
      file(node, 'replaced.yaml'),
      configMapFile(
        'replaced',
        '    argocd.argoproj.io/sync-options: Replace=true\n    kustomize.toolkit.fluxcd.io/force: enabled\n',
      ),
    );
    assert.equal(file(node, 'merged.yaml'), configMapFile('merged', ''));
  });

  test("sync options a form sets itself are kept, the bridge's added after them", () => {
    const node = render(
      `  configMaps:\n${configMap('own', '      deletionPolicy: Retain\n      annotationsTemplate:\n        argocd.argoproj.io/sync-options: "Validate=false,Prune=true"\n')}`,
    );
    assert.equal(
      parse(file(node, 'own.yaml')).metadata.annotations['argocd.argoproj.io/sync-options'],
      'Validate=false,Prune=true,Delete=false,ServerSideApply=true',
    );
  });

  test('creationPolicy Once: Flux creates it and never updates it (the bridge never rewrites the file)', () => {
    const node = render(
      `  configMaps:\n${configMap('once', '      creationPolicy: Once\n      patchStrategy: merge\n')}`,
    );
    assert.equal(file(node, 'once.yaml'), configMapFile('once', '    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n'));
  });

  test("the LynqNode records each file's blob and every policy that is not Lynq's default, for conflicts and health read-back", () => {
    const node = render(
      `  configMaps:\n${configMap('a')}${configMap('b', '      conflictPolicy: Force\n      waitForReady: false\n      timeoutSeconds: 60\n      skipOnDependencyFailure: false\n', 'a')}`,
    );
    const lynqNode = file(node, 'lynqnode.yaml');
    const resources = lynqNode.slice(lynqNode.indexOf('  resources:\n'), lynqNode.indexOf('  templateRef:'));
    assert.equal(
      resources,
      `  resources:
    - apiVersion: v1
      blob: ${gitBlobId(file(node, 'a.yaml'))}
      file: a.yaml
      id: a
      kind: ConfigMap
      level: 0
      name: a
      namespace: tenants
    - apiVersion: v1
      blob: ${gitBlobId(file(node, 'b.yaml'))}
      conflictPolicy: Force
      dependIds:
        - a
      file: b.yaml
      id: b
      kind: ConfigMap
      level: 1
      name: b
      namespace: tenants
      skipOnDependencyFailure: false
      timeoutSeconds: 60
      waitForReady: false
`,
    );
  });

  test("ignoreFields: ignoreDifferences in the node's Application, respected on sync", () => {
    const lists = `  deployments:
    - id: app
      nameTemplate: app
      ignoreFields: ["$.spec.replicas", "$.metadata.annotations['example.com/x']", "$.spec.template.spec.containers[?(@.name == 'app')].image"]
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          replicas: 2
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: app, image: nginx }]
`;
    const node = render(lists, 'argocd');
    const app = node.appFile!.content;
    assert.equal(
      app.slice(app.indexOf('  ignoreDifferences:'), app.indexOf('  project:')),
      `  ignoreDifferences:
    - group: apps
      jqPathExpressions:
        - ".spec.template.spec.containers[] | select(.name == \\"app\\") | .image"
      jsonPointers:
        - /spec/replicas
        - /metadata/annotations/example.com~1x
      kind: Deployment
      name: app
      namespace: tenants
`,
    );
    assert.match(
      app,
      /  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n    syncOptions:\n      - RespectIgnoreDifferences=true\n$/,
    );
    assert.doesNotMatch(
      render(`  configMaps:\n${configMap('a')}`, 'argocd').appFile!.content,
      /ignoreDifferences|RespectIgnoreDifferences/,
    );
  });

  test('waitForReady and timeoutSeconds: Flux waits for the resources that wait, within the longest timeout', () => {
    const node = render(
      `  configMaps:\n${configMap('waits', '      timeoutSeconds: 90\n')}${configMap('ignored', '      waitForReady: false\n      timeoutSeconds: 30\n')}`,
      'flux',
    );
    const kustomization = node.appFile!.content;
    assert.equal(
      kustomization.slice(kustomization.indexOf('spec:\n')),
      `spec:
  healthChecks:
    - apiVersion: v1
      kind: ConfigMap
      name: waits
      namespace: tenants
  interval: 10m
  path: ./nodes/customers/web/acme
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  timeout: 1m30s
  wait: false
`,
    );
    const allWait = render(`  configMaps:\n${configMap('a')}`, 'flux').appFile!.content;
    assert.match(allWait, /  timeout: 5m\n  wait: true\n$/);
  });

  test('ignoreFields that are not JSONPath, or that Argo CD cannot express, are config errors naming the field', () => {
    for (const [path, reason] of [
      ['spec.replicas', /must start with "\$"/],
      ['$..image', /recursive descent/],
      ['$.spec.containers[0:2]', /\[0:2\] is not supported/],
      ["$.a[?(@.x =~ 'y')]", /is not a literal|is not supported/],
    ] as const) {
      assert.throws(
        () => testForm(`  configMaps:\n${configMap('a', `      ignoreFields: [${JSON.stringify(path)}]\n`)}`),
        (error: unknown) =>
          error instanceof ConfigError &&
          /field spec\.configMaps\[0\]\.ignoreFields\[0\]/.test(error.message) &&
          reason.test(error.message),
        path,
      );
    }
  });
});

describe('Secrets', () => {
  const secret = (body: string) => `  manifests:
    - id: creds
      nameTemplate: creds
      spec:
        apiVersion: v1
        kind: Secret
${body}`;

  test('a Secret with plaintext data or stringData fails its node, naming the resource and the alternatives', () => {
    // A Secret whose data is written in the form fails the form at load (lynq validate says it, before any row is
    // read); one whose data a row supplies (test/render.test.ts) fails its node.
    for (const body of [
      '        data:\n          password: aHVudGVyMg==\n',
      '        stringData:\n          password: "{{ plan }}"\n',
    ]) {
      assert.throws(
        () => render(secret(body)),
        (error: unknown) =>
          error instanceof ConfigError &&
          /form web, field spec\.manifests\[0\]\.spec\.(data|stringData): is a Secret with plaintext data/.test(
            error.message,
          ) &&
          /SealedSecret .*ExternalSecret .*docs\/safety\.md shows one.*SOPS-encrypted Secret under `manifests`/.test(
            error.message,
          ),
      );
    }
  });

  test('a Secret without data (filled by a controller) and a SOPS-encrypted Secret are committed', () => {
    assert.equal(
      parse(file(render(secret('        type: kubernetes.io/service-account-token\n')), 'creds.yaml')).kind,
      'Secret',
    );
    const sops = secret(`        data:
          password: ENC[AES256_GCM,data:q83=,iv:aa==,tag:bb==,type:str]
        sops:
          mac: ENC[AES256_GCM,data:cc==,iv:dd==,tag:ee==,type:str]
          version: 3.9.0
`);
    assert.match(file(render(sops), 'creds.yaml'), /password: "ENC\[AES256_GCM,data:q83=/);
    const halfEncrypted = sops.replace('          password: ENC', '          user: plain\n          password: ENC');
    assert.throws(() => render(halfEncrypted), /is a Secret with plaintext data/);
  });
});
