import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeError } from '../src/errors.ts';
import { findClusterAccess } from '../src/kube/access.ts';
import { openKubeClient, type KubeClient } from '../src/kube/client.ts';
import { ARGO_APPLICATION, LYNQ_NODE } from '../src/kube/resources.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';
import { makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake } from './helpers/kube-fake.ts';
import { metricsOf, sampleValue, waitFor } from './helpers/serve-world.ts';
import { startLynq, stopLynq } from './helpers/serve.ts';

// A Kubernetes API that stops answering (never, or half-way through a reply, the connection
// left open) must fail the request that waits on it, named, within LYNQ_KUBE_TIMEOUT; never hang.

describe('the Kubernetes client: every request has a deadline and the run’s signal', () => {
  let fake: KubeFake;
  let kube: KubeClient;
  let cleanup: () => Promise<void>;
  before(async () => {
    fake = await startKubeFake();
    fake.put('LynqNode', {
      apiVersion: 'operator.lynq.sh/v1',
      kind: 'LynqNode',
      metadata: { name: 'acme-web', namespace: 'tenants', labels: { 'lynq.sh/hub': 'shop' } },
    });
    const files = await tempFiles({ kubeconfig: fake.kubeconfig() });
    cleanup = files.cleanup;
    const access = findClusterAccess({
      kubeconfig: path.join(files.dir, 'kubeconfig'),
      env: { LYNQ_KUBE_TIMEOUT: '0.5' },
      useHomeConfig: false,
    })!;
    assert.equal(access.timeoutMs, 500);
    kube = await openKubeClient(access, { registry: new SecretRegistry(), logger: silentLogger() });
  });
  after(async () => {
    await fake.close();
    await cleanup();
  });

  test('a LIST never answered, a LIST whose reply stops half-way, a GET and a PATCH never answered: each a KubeError naming the request and the setting', async () => {
    fake.stallNext('GET', '/applications', 'never');
    await assert.rejects(kube.list(ARGO_APPLICATION, 'argocd', 'lynq.sh/hub=shop'), (error: unknown) => {
      assert.ok(error instanceof KubeError, String(error));
      assert.match(
        error.message,
        /^listing applications\.argoproj\.io in namespace argocd: no answer from the Kubernetes API within 0\.5s \(LYNQ_KUBE_TIMEOUT\) \(server https:\/\/127\.0\.0\.1:\d+\)$/,
      );
      return true;
    });
    fake.stallNext('GET', '/applications', 'mid-reply');
    await assert.rejects(
      kube.listMetadata(ARGO_APPLICATION, 'argocd', 'lynq.sh/hub=shop', (item) => item),
      /listing applications\.argoproj\.io in namespace argocd: no answer .* within 0\.5s/,
    );
    fake.stallNext('GET', '/lynqnodes/acme-web', 'mid-reply');
    await assert.rejects(
      kube.find(LYNQ_NODE, 'tenants', 'acme-web'),
      /reading LynqNode tenants\/acme-web: no answer .* within 0\.5s/,
    );
    fake.stallNext('PATCH', '/lynqnodes/acme-web/status', 'never');
    await assert.rejects(
      kube.patchStatus(LYNQ_NODE, 'tenants', 'acme-web', { status: { phase: 'Ready' } }),
      /patching LynqNode tenants\/acme-web status: no answer .* within 0\.5s/,
    );
    assert.equal(fake.stalled(), 4);
    // The client is not poisoned: the next requests are answered.
    assert.equal((await kube.find(LYNQ_NODE, 'tenants', 'acme-web'))?.metadata?.name, 'acme-web');
    assert.equal(
      await kube.mergePatch(LYNQ_NODE, 'tenants', 'acme-web', { status: { phase: 'Ready' } }, { status: true }),
      'patched',
    );
    fake.assertClean();
  });

  test('the run’s signal ends a request in flight, named as cancelled; an aborted run sends nothing more', async () => {
    const run = new AbortController();
    fake.stallNext('GET', '/lynqnodes/acme-web', 'never');
    const pending = kube.withSignal(run.signal).find(LYNQ_NODE, 'tenants', 'acme-web');
    setTimeout(() => run.abort(new Error('lynq serve is shutting down')), 50);
    await assert.rejects(pending, /reading LynqNode tenants\/acme-web: cancelled \(lynq serve is shutting down\)/);
    const before = fake.requests.length;
    await assert.rejects(kube.withSignal(run.signal).find(LYNQ_NODE, 'tenants', 'acme-web'));
    assert.equal(fake.requests.length, before, 'nothing sent once the run is cancelled');
    fake.assertClean();
  });

  test('a bad LYNQ_KUBE_TIMEOUT is a config error naming the variable', () => {
    for (const value of ['0', '-1', 'soon', '1e9'])
      assert.throws(
        () => findClusterAccess({ kubeconfig: 'x', env: { LYNQ_KUBE_TIMEOUT: value }, useHomeConfig: false }),
        /LYNQ_KUBE_TIMEOUT ".*": expected a number of seconds/,
      );
    assert.equal(findClusterAccess({ kubeconfig: 'x', env: {}, useHomeConfig: false })?.timeoutMs, 30_000);
  });
});

const FORM = (image: string) => `  deployments:
    - id: app
      nameTemplate: "{{ uid }}-app"
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: app, image: "nginx:${image}" }]
  rollout:
    maxSkew: 1
`;

describe('lynq status, lynq sync and lynq serve against an API server that stops answering', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  before(async () => {
    world = await makeHealthWorld({
      hub: 'shop',
      gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: FORM('1.25'),
      rows: [
        ['acme', 'gold'],
        ['globex', 'silver'],
      ],
    });
    assert.equal((await world.sync()).code, 0);
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
    putLynqNodes(fake, await world.lynqNodes(), []);
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('lynq status: the CRD check and the LIST never answered; exit 3 naming both requests, not a hang', async () => {
    fake.stallNext('GET', '/customresourcedefinitions/lynqnodes.operator.lynq.sh', 'never');
    fake.stallNext('GET', '/applications', 'mid-reply');
    const result = await world.status(['--kubeconfig', world.kubeconfigFile], { LYNQ_KUBE_TIMEOUT: '1' });
    assert.equal(result.code, 3, result.out + result.err);
    assert.match(
      result.out,
      /LynqNode CRD: cluster-failed: reading CustomResourceDefinition lynqnodes\.operator\.lynq\.sh: no answer from the Kubernetes API within 1s \(LYNQ_KUBE_TIMEOUT\)/,
    );
    assert.match(
      result.out,
      /shop: cluster-failed: listing applications\.argoproj\.io in namespace argocd: no answer from the Kubernetes API within 1s/,
    );
    fake.assertClean();
  });

  test('lynq sync: the read-back after publishing never answered; the sync ends, published, the health line names the request', async () => {
    await world.db.exec("UPDATE customers SET plan = 'bronze' WHERE id = 'globex'");
    fake.stallNext('GET', '/applications', 'never');
    const before = await world.head();
    const result = await lynq(['sync', ...world.dirs], {
      ...world.env,
      KUBECONFIG: world.kubeconfigFile,
      LYNQ_KUBE_TIMEOUT: '1',
    });
    assert.equal(result.code, 0, result.out + result.err);
    assert.notEqual(await world.head(), before, 'published before the read-back');
    assert.match(
      result.out,
      /listing applications\.argoproj\.io in namespace argocd: no answer from the Kubernetes API within 1s/,
    );
    fake.assertClean();
  });

  test('lynq serve: the rollout gate’s LIST never answered; the sync fails cluster-failed, its lock is released (the next one runs), /readyz and /metrics count it', async () => {
    await writeFile(path.join(world.dir, 'forms', 'web.yaml'), formYaml(FORM('1.27'), { hubId: 'shop' }));
    fake.stallNext('GET', '/applications', 'never');
    const token = 'webhook-token-0123456789abcdef';
    const proc = startLynq(['serve', ...world.dirs, '--listen', '127.0.0.1:0', '--ready-after', '0', '--no-watch'], {
      ...world.env,
      KUBECONFIG: world.kubeconfigFile,
      LYNQ_KUBE_TIMEOUT: '1',
      LYNQ_WEBHOOK_TOKEN: token,
    });
    try {
      await proc.waitForLog(
        (logs) => logs.some((line) => line.msg === 'sync finished' && line.hub === 'shop'),
        'the first sync to end',
      );
      const failed = proc.logs.find((line) => line.msg === 'sync finished')!;
      assert.equal(failed.outcome, 'cluster-failed');
      const why = proc.logs.find((line) => line.msg === 'sync failed; nothing published')!;
      assert.match(
        String(why.err),
        /listing applications\.argoproj\.io in namespace argocd: no answer from the Kubernetes API within 1s \(LYNQ_KUBE_TIMEOUT\)/,
      );
      const url = await proc.url();
      // The log line comes just before the run hands back its lock and its result: wait for the scheduler to have it.
      let ready = { status: 0, text: '' };
      await waitFor(async () => {
        const response = await fetch(`${url}/readyz`);
        ready = { status: response.status, text: await response.text() };
        return /syncs failing/.test(ready.text);
      }, '/readyz to report the failure');
      assert.equal(ready.status, 503);
      assert.match(ready.text, /hub shop: syncs failing \(cluster-failed\)/);
      assert.equal(sampleValue(await metricsOf(proc), 'lynq_sync_errors_total', { hub: 'shop', kind: 'cluster' }), 1);
      // The lock went with the failed run: the next sync takes it and publishes (one node: maxSkew 1).
      const hook = await fetch(`${url}/hooks/sync/shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(hook.status, 202);
      await proc.waitForLog(
        (logs) => logs.filter((line) => line.msg === 'sync finished' && line.hub === 'shop').length >= 2,
        'the second sync',
      );
      const second = proc.logs.filter((line) => line.msg === 'sync finished')[1]!;
      assert.equal(second.outcome, 'published');
      assert.ok(!proc.logs.some((line) => line.msg === 'hub skipped: another process holds its sync lock'));
      fake.assertClean();
    } finally {
      await stopLynq(proc);
    }
  });
});
