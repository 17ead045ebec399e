import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, parseForm } from '../src/config/load.ts';
import { resolveGitops } from '../src/gitops/engine.ts';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { renderHub, templateVariables } from '../src/plan/render-hub.ts';
import type { RenderedNode } from '../src/render/node.ts';
import { tempFiles } from './helpers/files.ts';

const run = promisify(execFile);

/** A plausible value for every variable the example hubs map; a new variable needs one here. */
const SAMPLES: Record<string, string> = {
  plan: 'gold',
  replicas: '2',
  maxReplicas: '6',
  domain: 'acme.saas.example.com',
  imageTag: '1.4.2',
  image: 'nginx:1.27',
  cpu: '250m',
  memory: '512Mi',
  features: '{"sso":true}',
  createdAt: '2024-01-15T09:30:00.000Z',
};

async function renderExamples(): Promise<Array<{ hub: string; engine: string; nodes: RenderedNode[] }>> {
  const config = await loadConfig({ hubsDir: 'hubs', formsDir: 'forms' });
  return [...config.hubs.values()].map((hub) => {
    const values: Record<string, string> = { uid: 'acme', activate: 'true' };
    for (const variable of templateVariables(hub).filter(
      (name) => !['uid', 'activate', 'hubId', 'templateRef'].includes(name),
    )) {
      assert.ok(variable in SAMPLES, `hub ${hub.name} maps ${variable}: add a sample value for it`);
      values[variable] = SAMPLES[variable]!;
    }
    const forms = config.forms.filter((form) => form.spec.hubId === hub.name);
    const rendered = renderHub(hub, forms, [{ uid: 'acme', active: true, values }], {
      root: 'nodes',
      bridgeVersion: '0.0.0-test',
    });
    assert.deepEqual(rendered.failures, [], `hub ${hub.name}`);
    assert.equal(rendered.nodes.length, forms.length);
    return { hub: hub.name, engine: resolveGitops(hub).engine, nodes: rendered.nodes };
  });
}

describe('the examples in hubs/ and forms/', () => {
  test('there is a MySQL hub applied by Argo CD and a PostgreSQL hub applied by Flux, both for the SaaS form', async () => {
    const config = await loadConfig({ hubsDir: 'hubs', formsDir: 'forms' });
    const mysql = config.hubs.get('saas-mysql')!;
    const postgres = config.hubs.get('saas-postgresql')!;
    assert.deepEqual([mysql.spec.source.type, mysql.spec.gitops.engine], ['mysql', 'argocd']);
    assert.deepEqual([postgres.spec.source.type, postgres.spec.gitops.engine], ['postgresql', 'flux']);
    const saas = config.forms.find((form) => form.name === 'saas')!;
    const lists = saas.resources.map((resource) => resource.list);
    for (const list of [
      'namespaces',
      'serviceAccounts',
      'deployments',
      'services',
      'ingresses',
      'configMaps',
      'horizontalPodAutoscalers',
      'podDisruptionBudgets',
      'networkPolicies',
    ]) {
      assert.ok(lists.includes(list as never), `the SaaS form has ${list}`);
    }
    assert.ok(Math.max(...saas.resources.map((resource) => resource.level)) >= 2, 'it uses dependIds');
    assert.ok(
      saas.resources.some((resource) => resource.deletionPolicy === 'Retain' || resource.creationPolicy === 'Once'),
      'and policies',
    );
  });

  test('the PostgreSQL copy of the SaaS form differs only in its name and hub', async () => {
    const mysql = parse(await readFile('forms/saas.yaml', 'utf8')) as { metadata: object; spec: { hubId: string } };
    const postgres = parse(await readFile('forms/saas-postgresql.yaml', 'utf8')) as typeof mysql;
    assert.deepEqual({ ...postgres.spec, hubId: 'saas-mysql' }, mysql.spec);
    assert.deepEqual(postgres.metadata, { name: 'saas-postgresql' });
  });

  test('every example renders; every generated Argo CD and Flux object validates against its CRD schema', async () => {
    const hubs = await renderExamples();
    assert.deepEqual(hubs.map((hub) => [hub.hub, hub.engine]).sort(), [
      ['demo', 'none'],
      ['saas-mysql', 'argocd'],
      ['saas-postgresql', 'flux'],
    ]);
    for (const { engine, nodes } of hubs) {
      for (const node of nodes) {
        if (engine === 'none') {
          assert.equal(node.appFile, undefined);
          continue;
        }
        const docs = parseAllDocuments(node.appFile!.content).map((doc) => doc.toJS() as Record<string, unknown>);
        assert.equal(docs[0]!.kind, engine === 'argocd' ? 'Application' : 'Kustomization');
        for (const doc of docs)
          assert.equal(
            validateManifest(doc),
            undefined,
            `${node.appFile!.path}: ${JSON.stringify(validateManifest(doc))}`,
          );
        for (const file of node.files) {
          if (!node.resources.some((resource) => resource.file === file.name)) continue;
          assert.equal(
            validateManifest(parse(file.content) as Record<string, unknown>),
            undefined,
            `${node.dir}/${file.name}`,
          );
        }
      }
    }
  });

  test('kubectl kustomize builds every rendered node folder, and every Flux level folder', async () => {
    for (const { nodes } of await renderExamples()) {
      for (const node of nodes) {
        const files = await tempFiles(Object.fromEntries(node.files.map((file) => [file.name, file.content])));
        try {
          const { stdout } = await run('kubectl', ['kustomize', files.dir]);
          const built = stdout.split(/^---$/m).length;
          assert.equal(built, node.resources.length + 1, `${node.dir}: every resource and the LynqNode`);
          const levels = node.files
            .filter((file) => file.name.startsWith('levels/'))
            .map((file) => path.dirname(file.name));
          let inLevels = 0;
          for (const level of levels) {
            const out = await run('kubectl', [
              'kustomize',
              '--load-restrictor',
              'LoadRestrictionsNone',
              path.join(files.dir, level),
            ]);
            inLevels += out.stdout.split(/^---$/m).length;
          }
          if (levels.length > 0) assert.equal(inLevels, built, `${node.dir}: the levels together apply the node`);
        } finally {
          await files.cleanup();
        }
      }
    }
  });

  test('the secrets example uses an ExternalSecret; the same credentials as a plain Secret are refused', async () => {
    const text = await readFile('forms/saas-secrets.yaml', 'utf8');
    const form = parseForm('forms/saas-secrets.yaml', text);
    assert.deepEqual(
      form.resources.map((resource) => resource.spec.kind),
      ['ExternalSecret'],
    );
    const plain = text.replace(
      /      spec:\n        apiVersion: external-secrets\.io\/v1[\s\S]*$/,
      '      spec:\n        apiVersion: v1\n        kind: Secret\n        stringData:\n          DATABASE_PASSWORD: "{{ uid }}-secret"\n',
    );
    // Refused at load, before any row is read: lynq validate says so.
    assert.throws(
      () => parseForm('forms/plain.yaml', plain),
      /form saas-secrets, field spec\.manifests\[0\]\.spec\.stringData: is a Secret with plaintext data .*ExternalSecret/,
    );
  });
});
