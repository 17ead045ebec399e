import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

describe('lynq bootstrap and lynq validate', () => {
  const hub = (name: string, gitops: string) =>
    hubYaml({
      name,
      extra: { plan: 'plan' },
      spec: `  publish:\n    repo: https://git.example.com/manifests.git\n  gitops:\n${gitops}`,
    });

  test('bootstrap prints the parent object per hub: an app-of-apps Application, or a parent Kustomization and its GitRepository', async () => {
    const files = await tempFiles({
      'hubs/a.yaml': hub('argo', '    engine: argocd\n'),
      'hubs/f.yaml': hub(
        'fluxed',
        '    engine: flux\n    flux:\n      sourceRef: { name: manifests }\n      gitRepository:\n        secretRef: { name: git-auth }\n',
      ),
      'hubs/n.yaml': hub('plain', '    engine: none\n'),
      'forms/.keep': '',
    });
    const dirs = ['--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`];
    try {
      const argo = await lynq(['bootstrap', ...dirs, '--hub', 'argo']);
      assert.equal(argo.code, 0, argo.err);
      assert.equal(
        argo.out,
        `# Hub argo (Argo CD): apply once, e.g. \`lynq bootstrap --hub argo | kubectl apply -f -\`;
# it picks up every node file under apps/argo/.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: lynq-argo
  namespace: argocd
  labels:
    lynq.sh/hub: argo
spec:
  destination:
    namespace: argocd
    server: https://kubernetes.default.svc
  project: default
  source:
    directory:
      recurse: true
    path: apps/argo
    repoURL: https://git.example.com/manifests.git
    targetRevision: main
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
      );
      const flux = await lynq(['bootstrap', ...dirs, '--hub', 'fluxed']);
      assert.equal(flux.code, 0, flux.err);
      assert.equal(
        flux.out.slice(flux.out.indexOf('apiVersion')),
        `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: manifests
  namespace: flux-system
spec:
  interval: 1m
  ref:
    branch: main
  secretRef:
    name: git-auth
  url: https://git.example.com/manifests.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: lynq-fluxed
  namespace: flux-system
  labels:
    lynq.sh/hub: fluxed
spec:
  interval: 10m
  path: ./apps/fluxed
  prune: true
  sourceRef:
    kind: GitRepository
    name: manifests
`,
      );
      const all = await lynq(['bootstrap', ...dirs]);
      assert.equal(all.code, 0);
      assert.deepEqual(
        [...all.out.matchAll(/^  name: (.+)$/gm)].map((match) => match[1]),
        ['lynq-argo', 'manifests', 'lynq-fluxed'],
        'every hub with an engine, none for engine none',
      );
      const none = await lynq(['bootstrap', ...dirs, '--hub', 'plain']);
      assert.equal(none.code, 2);
      assert.match(none.err, /hub plain, field spec\.gitops\.engine: spec\.gitops\.engine is none/);
    } finally {
      await files.cleanup();
    }
  });

  test('validate notes each policy the engine cannot express exactly, per resource, and still passes', async () => {
    const lists = `  configMaps:
    - id: once
      nameTemplate: once
      creationPolicy: Once
      ignoreFields: ["$.data.x"]
      spec:
        apiVersion: v1
        kind: ConfigMap
    - id: slow
      nameTemplate: slow
      timeoutSeconds: 900
      waitForReady: false
      patchStrategy: merge
      spec:
        apiVersion: v1
        kind: ConfigMap
`;
    const files = await tempFiles({
      'hubs/a.yaml': hub('argo', '    engine: argocd\n'),
      'hubs/f.yaml': hub('fluxed', '    engine: flux\n'),
      'forms/a.yaml': formYaml(lists, { name: 'a', hubId: 'argo' }),
      'forms/f.yaml': formYaml(lists, { name: 'f', hubId: 'fluxed' }),
    });
    try {
      const result = await lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
      assert.equal(result.code, 0, result.err);
      const notes = result.out.split('\n').filter((line) => line.startsWith('note: '));
      assert.deepEqual(
        notes.map((line) => line.replace(/: [^:]*$/, '')),
        [
          'note: hub argo (Argo CD), form a, resource once: creationPolicy Once',
          'note: hub argo (Argo CD), form a, resource slow: waitForReady false',
          'note: hub argo (Argo CD), form a, resource slow: timeoutSeconds 900',
          'note: hub fluxed (Flux), form f, resource once: ignoreFields',
          'note: hub fluxed (Flux), form f, resource once: timeoutSeconds 300',
          'note: hub fluxed (Flux), form f, resource slow: patchStrategy merge',
        ],
      );
      assert.match(result.out, /^ok: 2 hubs, 2 forms, 4 resources$/m);
    } finally {
      await files.cleanup();
    }
  });
});
