// @slow: about 40 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { argoApp, fluxKustomization, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { lynq } from './helpers/cli.ts';
import { startKubeFake, type KubeFake, type Obj } from './helpers/kube-fake.ts';

const LEVELLED_FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}" }
  deployments:
    - id: app
      nameTemplate: "{{ uid }}-app"
      dependIds: [settings]
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: app, image: "nginx:{{ plan }}" }]
`;

const SIMPLE_FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}" }
`;

type StatusJson = Array<{
  uid: string;
  phase: string;
  applied: boolean;
  resources: { desired: number; ready: number; failed: number };
}>;
const byUid = (out: string) => new Map((JSON.parse(out) as StatusJson).map((node) => [node.uid, node]));

describe('Flux: multi-level nodes (one Kustomization per DAG level)', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  const node = (uid: string) => nodes.find((item) => item.metadata.name === `${uid}-web`)!;

  before(async () => {
    world = await makeHealthWorld({
      hub: 'lab',
      gitops: '    engine: flux\n',
      form: LEVELLED_FORM,
      rows: [
        ['acme', 'gold'],
        ['globex', 'gold'],
        ['hooli', 'gold'],
        ['initech', 'gold'],
      ],
    });
    assert.equal((await world.sync()).code, 0);
    nodes = await world.lynqNodes();
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
    putLynqNodes(fake, nodes);
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('every level is read: Ready when both levels applied the commit and are ready; a level still reconciling, failed or missing decides', async () => {
    const head = await world.head();
    assert.equal((node('acme').spec as { gitops: { objects: unknown[] } }).gitops.objects.length, 2);
    for (const uid of ['acme', 'globex', 'hooli', 'initech'])
      fake.put('Kustomization', fluxKustomization(node(uid), 0, 'kustomization-ready.yaml', head));
    fake.put('Kustomization', fluxKustomization(node('acme'), 1, 'kustomization-ready.yaml', head));
    fake.put(
      'Kustomization',
      fluxKustomization(node('globex'), 1, 'kustomization-reconciling-healthchecks.yaml', head),
    );
    fake.put(
      'Kustomization',
      fluxKustomization(node('hooli'), 1, 'kustomization-reconciliationfailed-healthy.yaml', head),
    );
    // initech's second level is not in the cluster.
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    assert.equal(result.code, 1, result.err);
    const seen = byUid(result.out);
    assert.deepEqual(
      [...seen].map(([uid, item]) => [uid, item.phase]),
      [
        ['acme', 'Ready'],
        ['globex', 'Progressing'],
        ['hooli', 'Degraded'],
        ['initech', 'Missing'],
      ],
    );
    assert.deepEqual(seen.get('acme')!.resources, { desired: 2, ready: 2, failed: 0 });
    // globex: level 0 (settings) is ready, level 1 (app) is still reconciling.
    assert.deepEqual(seen.get('globex')!.resources, { desired: 2, ready: 1, failed: 0 });
    assert.deepEqual(seen.get('hooli')!.resources, { desired: 2, ready: 1, failed: 1 });
    assert.deepEqual(
      fake.requests.filter((request) => request.method === 'GET').map((request) => request.path),
      [
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/lynqnodes.operator.lynq.sh',
        '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations',
        '/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes',
      ],
    );
    fake.assertClean();
  });
});

describe('thousands of nodes, and the sync read-back', () => {
  const COUNT = 1200;
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];

  before(async () => {
    const rows = Array.from(
      { length: COUNT },
      (_, i) => [`c${String(i).padStart(5, '0')}`, 'gold'] as [string, string],
    );
    world = await makeHealthWorld({
      hub: 'big',
      gitops:
        '    engine: argocd\n    refresh: true\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: SIMPLE_FORM,
      rows,
    });
    assert.equal((await world.sync()).code, 0);
    nodes = await world.lynqNodes();
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
    putLynqNodes(fake, nodes);
    const head = await world.head();
    for (const item of nodes)
      fake.put('Application', argoApp(item, 'application-healthy-synced-op-succeeded.yaml', head));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test(`${COUNT} nodes: three LIST pages per kind (limit 500, continue), every node Ready, one status patch each; then none`, async () => {
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    assert.equal(result.code, 0, result.err);
    const seen = JSON.parse(result.out) as StatusJson;
    assert.equal(seen.length, COUNT);
    assert.ok(seen.every((item) => item.phase === 'Ready' && item.applied));
    // The one GET of the LynqNode CRD (the clash check), then the LISTs.
    const [crd, ...lists] = fake.requests.filter((request) => request.method === 'GET');
    assert.equal(crd!.path, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/lynqnodes.operator.lynq.sh');
    assert.equal(lists.length, 6);
    const apps = lists.filter((request) => request.path.endsWith('/applications'));
    assert.deepEqual(
      apps.map((request) => request.query.continue === undefined),
      [true, false, false],
    );
    assert.ok(
      lists.every((request) => request.query.limit === '500' && request.query.labelSelector === 'lynq.sh/hub=big'),
    );
    assert.equal(fake.count('PATCH', '/lynqnodes/'), COUNT);
    const again = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.equal(again.code, 0);
    assert.match(again.out, /^Ready 1200, Progressing 0, Degraded 0, Missing 0, Unknown 0$/m);
    assert.equal(fake.count('PATCH', '/lynqnodes/'), COUNT, 'a no-op read-back writes nothing');
    fake.assertClean();
  });

  test("lynq sync reads back after publishing (KUBECONFIG), nudges the changed node's Application (refresh: true), and a failing read-back never changes the exit code", async () => {
    await world.db.exec("UPDATE customers SET plan = 'silver' WHERE id = 'c00007'");
    const before = fake.requests.length;
    const synced = await world.sync([]);
    assert.equal(synced.code, 0, synced.err);
    assert.equal(
      fake.requests.length,
      before,
      'no read-back without a configured cluster (a ~/.kube/config alone does not count for sync)',
    );
    await world.db.exec("UPDATE customers SET plan = 'bronze' WHERE id = 'c00007'");
    const withCluster = await world.sync(['--kubeconfig', world.kubeconfigFile]);
    assert.equal(withCluster.code, 0, withCluster.err);
    assert.match(
      withCluster.out,
      /^big: Ready 1199, Progressing 1, Degraded 0, Missing 0, Unknown 0; 1 status\(es\) written; 1 engine object\(s\) nudged$/m,
    );
    const nudges = fake.requests
      .slice(before)
      .filter((request) => request.method === 'PATCH' && request.path.includes('/applications/'));
    assert.deepEqual(
      nudges.map((request) => [request.path, request.body]),
      [
        [
          '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/big-web-c00007',
          { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
        ],
      ],
    );
    assert.equal(
      fake.get('Application', 'argocd', 'big-web-c00007')!.metadata.annotations?.['argocd.argoproj.io/refresh'],
      'normal',
    );
    // The cluster refuses: the sync still published and exits 0, and says why the read-back failed.
    await world.db.exec("UPDATE customers SET plan = 'gold' WHERE id = 'c00007'");
    await world.writeKubeconfig(fake.kubeconfig({ token: 'not-the-token' }));
    const headBefore = await world.head();
    const failing = await lynq(['sync', ...world.dirs], { ...world.env, KUBECONFIG: world.kubeconfigFile });
    assert.equal(failing.code, 0, failing.err);
    assert.notEqual(await world.head(), headBefore, 'published before the read-back');
    assert.match(
      failing.out,
      /^big: read-back cluster-failed: listing applications\.argoproj\.io in namespace argocd: the credentials were refused \(401 Unauthorized\)/m,
    );
    fake.assertClean();
  });
});
