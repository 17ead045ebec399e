import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILT_IN_KIND_MODELS, BUILT_IN_MODEL_FIELDS } from '../src/config/k8s-fields.ts';
import { unknownFields } from '../src/config/unknown-fields.ts';
import { builtInFields } from '../scripts/k8s-fields-source.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

// A field in the wrong place of a built-in kind (`env:` in the PodSpec, not its container) is
// valid YAML, passes the schema (Kubernetes' schemas allow unknown fields), is committed, and
// does nothing on the cluster. `lynq validate` warns of it, and says where it belongs.

const deployment = (podSpec: string, extra = '') => `  deployments:
    - id: app
      nameTemplate: "{{ uid }}-app"
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
${extra}          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
${podSpec}`;

const CONTAINERS = '              containers:\n                - name: web\n                  image: nginx\n';

async function validate(form: string): Promise<{ code: number; out: string; err: string }> {
  const dir = await tempFiles({
    'hubs/customers.yaml': hubYaml({ spec: '  publish:\n    repo: https://git.example.com/m.git\n' }),
    'forms/web.yaml': formYaml(form),
  });
  try {
    return await lynq(['validate', '--files-only', '--hubs', `${dir.dir}/hubs`, '--forms', `${dir.dir}/forms`]);
  } finally {
    await dir.cleanup();
  }
}

describe('unknown fields of built-in kinds are warned of, with where they belong', () => {
  test('src/config/k8s-fields.ts is what the installed @kubernetes/client-node and kubernetes-models give (npm run fields writes it)', () => {
    assert.deepEqual({ kinds: BUILT_IN_KIND_MODELS, types: BUILT_IN_MODEL_FIELDS }, builtInFields());
  });

  test('env in the PodSpec: a warning at its file and line, "did you mean containers[].env?", and validate still passes', async () => {
    const result = await validate(
      deployment(`${CONTAINERS}              env:\n                - { name: PLAN, value: gold }\n`),
    );
    assert.equal(result.code, 0, result.err);
    const warnings = result.out.split('\n').filter((line) => line.startsWith('warning:'));
    assert.equal(warnings.length, 1, result.out);
    assert.match(
      warnings[0]!,
      /^warning: .*forms\/web\.yaml:21, form web, resource app: unknown field spec\.template\.spec\.env \(did you mean containers\[\]\.env\?\): Deployment \(apps\/v1\) has no such field, so Kubernetes drops it/,
    );
    assert.match(result.out, /^ok: 1 hubs, 1 forms, 1 resources$/m);
  });

  test('a field of an enclosing object and a misspelling are each named with the fix', () => {
    const found = unknownFields({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', lables: { a: 'b' } },
      spec: {
        selector: {},
        template: { spec: { replicas: 2, containers: [{ name: 'a', image: 'b', imagePullPolcy: 'Always' }] } },
      },
    });
    assert.deepEqual(found, [
      { path: ['metadata', 'lables'], hint: 'labels' },
      { path: ['spec', 'template', 'spec', 'replicas'], hint: 'spec.replicas' },
      { path: ['spec', 'template', 'spec', 'containers', 0, 'imagePullPolcy'], hint: 'imagePullPolicy' },
    ]);
  });

  test('a field nothing near resembles has no hint', () => {
    assert.deepEqual(
      unknownFields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: {}, flavour: 'x' }),
      [{ path: ['flavour'], hint: undefined }],
    );
  });

  test('well-formed manifests of common kinds have none, free maps (labels, data, resources) are not looked into, and templated keys and values are left alone', async () => {
    const result = await validate(
      deployment(
        `${CONTAINERS}                  env: [{ name: A, value: "{{ uid }}" }]\n                  resources: { limits: { cpu: "1", example.com/gpu: "1" } }\n              nodeSelector: { disk: ssd }\n              affinity: "{{ uid }}"\n`,
        '          replicas: 2\n          "{{ uid }}": x\n',
      ),
    );
    assert.equal(result.code, 0, result.err);
    assert.doesNotMatch(result.out, /warning:/);
    for (const manifest of [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', annotations: { x: 'y' } },
        spec: { selector: { app: 'a' }, ports: [{ port: 80, targetPort: 'http' }] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'i' },
        spec: {
          rules: [
            {
              host: 'a',
              http: {
                paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }],
              },
            },
          ],
        },
      },
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'c' },
        spec: {
          schedule: '* * * * *',
          jobTemplate: {
            spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'b' }] } } },
          },
        },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'b' }, sops: { version: '3' } },
    ])
      assert.deepEqual(unknownFields(manifest), [], manifest.kind);
  });

  test('kinds the bridge has no field table for (CRDs, Argo CD, Flux) are not checked', () => {
    assert.deepEqual(unknownFields({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { anything: 1 } }), []);
    assert.deepEqual(
      unknownFields({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', spec: { anything: 1 } }),
      [],
    );
  });
});
