import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openKubeClient, type KubeClient } from '../src/kube/client.ts';
import { ARGO_APPLICATION, LYNQ_NODE } from '../src/kube/resources.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { tempFiles } from './helpers/files.ts';
import { startKubeFake, type KubeFake, type Obj } from './helpers/kube-fake.ts';

/** An Application of about 600 bytes: a page of 500 is over the API server's 128 KiB gzip threshold. */
function application(index: number): Obj {
  const name = `shop-web-t${String(index).padStart(5, '0')}`;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd', labels: { 'lynq.sh/hub': 'shop' } },
    spec: {
      project: 'default',
      source: {
        repoURL: 'https://git.example.com/manifests.git',
        path: `nodes/shop/web/t${index}`,
        targetRevision: 'main',
      },
    },
    status: {
      health: { status: 'Healthy' },
      sync: { status: 'Synced', revision: 'a'.repeat(40) },
      operationState: { phase: 'Succeeded', message: 'successfully synced (all tasks run)'.repeat(8) },
    },
  };
}

describe('the Kubernetes client’s connections: kept alive, compressed, a dropped kept connection retried', () => {
  let fake: KubeFake;
  let kube: KubeClient;
  let cleanup: () => Promise<void>;

  before(async () => {
    fake = await startKubeFake();
    for (let index = 0; index < 1100; index++) fake.put('Application', application(index));
    fake.put('LynqNode', {
      apiVersion: 'operator.lynq.sh/v1',
      kind: 'LynqNode',
      metadata: { name: 't00001-web', namespace: 'tenants', labels: { 'lynq.sh/hub': 'shop' } },
    });
    const files = await tempFiles({ kubeconfig: fake.kubeconfig() });
    cleanup = files.cleanup;
    kube = await openKubeClient(
      { source: 'flag', files: [path.join(files.dir, 'kubeconfig')], context: undefined },
      { registry: new SecretRegistry(), logger: silentLogger() },
    );
  });
  after(async () => {
    await fake.close();
    await cleanup();
  });

  test('a LIST of three pages and ten PATCHes one after another go over one TLS connection; large pages come gzipped and read whole', async () => {
    const before = fake.connections();
    const items = await kube.list(ARGO_APPLICATION, 'argocd', 'lynq.sh/hub=shop');
    assert.equal(items.length, 1100);
    assert.deepEqual(
      items.map((item) => item.metadata?.name),
      Array.from({ length: 1100 }, (_, index) => `shop-web-t${String(index).padStart(5, '0')}`),
    );
    assert.deepEqual(items[7]!.status, application(7).status);
    assert.equal(kube.requests.list, 3);
    assert.equal(fake.gzipped(), 2, 'the two full pages are over 128 KiB; the last (100 objects) is not');
    for (let round = 0; round < 10; round++) {
      assert.equal(
        await kube.mergePatch(
          LYNQ_NODE,
          'tenants',
          't00001-web',
          { status: { phase: 'Ready', round } },
          { status: true },
        ),
        'patched',
      );
    }
    assert.deepEqual(fake.get('LynqNode', 'tenants', 't00001-web')!.status, { phase: 'Ready', round: 9 });
    assert.equal(fake.connections() - before, 1, '13 requests, one connection');
    fake.assertClean();
  });

  test('a kept connection the server closes as a request arrives: the request is sent again on a new one', async () => {
    await kube.find(LYNQ_NODE, 'tenants', 't00001-web');
    const before = fake.connections();
    fake.failNext('GET', '/lynqnodes/t00001-web', 0);
    const found = await kube.find(LYNQ_NODE, 'tenants', 't00001-web');
    assert.equal(found?.metadata?.name, 't00001-web');
    assert.equal(fake.connections() - before, 1, 'one new connection for the retry');
    assert.equal(fake.count('GET', '/lynqnodes/t00001-web'), 3);
    fake.assertClean();
  });
});
