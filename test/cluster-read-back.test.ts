import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { argoApp, engineRefs, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake } from './helpers/kube-fake.ts';

// Health read-back finds a node's engine objects by the names its LynqNode records: with a
// cluster per row, the names carry the cluster, and a moved node's new Application is found.

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          CLUSTER: "{{ cluster }}"
`;

type StatusJson = Array<{ uid: string; phase: string; applied: boolean }>;

describe('lynq status with a cluster per row (Argo CD, one control plane)', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  const nodesByUid = async () =>
    new Map((await world.lynqNodes()).map((node) => [(node.spec as { uid: string }).uid, node] as const));
  const phases = async () => {
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    return new Map((JSON.parse(result.out) as StatusJson).map((node) => [node.uid, node.phase]));
  };

  before(async () => {
    // The plan column names the cluster: the world's table has id, active and plan.
    world = await makeHealthWorld({
      hub: 'shop',
      gitops:
        '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n    clusters:\n      - name: eu-1\n      - name: us-1\n',
      form: FORM,
      rows: [
        ['acme', 'eu-1'],
        ['globex', 'us-1'],
      ],
      valueMappings: '    cluster: plan\n',
    });
    const synced = await world.sync();
    assert.equal(synced.code, 0, synced.err + synced.out);
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test("each node's Application is found by its cluster-named name, and a moved node's new one after the move", async () => {
    const nodes = await nodesByUid();
    assert.deepEqual(
      [...nodes.values()].map((node) => engineRefs(node).map((ref) => ref.name)),
      [['shop-web-acme-eu-1'], ['shop-web-globex-us-1']],
    );
    putLynqNodes(fake, [...nodes.values()]);
    let head = await world.head();
    for (const node of nodes.values())
      fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', head));
    assert.deepEqual(
      [...(await phases())],
      [
        ['acme', 'Ready'],
        ['globex', 'Ready'],
      ],
    );

    await world.db.exec(`UPDATE customers SET plan = 'us-1' WHERE id = 'acme'`);
    const moved = await world.sync(['--allow-deletions']);
    assert.equal(moved.code, 0, moved.err + moved.out);
    const acme = (await nodesByUid()).get('acme')!;
    assert.deepEqual(
      engineRefs(acme).map((ref) => ref.name),
      ['shop-web-acme-us-1'],
    );
    // As Argo CD would have it: the parent pruned the old Application, created the new one; the LynqNode updated.
    fake.remove('Application', 'argocd', 'shop-web-acme-eu-1');
    putLynqNodes(fake, [acme]);
    assert.equal(
      (await phases()).get('acme'),
      'Missing',
      'the new Application is not there yet: the old one does not count',
    );
    head = await world.head();
    fake.put('Application', argoApp(acme, 'application-healthy-synced-op-succeeded.yaml', head));
    assert.equal((await phases()).get('acme'), 'Ready');
  });

  test('a LynqNode living in its own cluster, out of the control plane, still gets its phase from its Application; its status is not written', async () => {
    const nodes = await nodesByUid();
    fake.remove('LynqNode', 'tenants', (nodes.get('globex')!.metadata as { name: string }).name);
    assert.equal(
      (await phases()).get('globex'),
      'Ready',
      'the phase comes from Git and the Application in the control plane',
    );
    const text = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.match(text.out, /shop: 1 LynqNode\(s\) not in the cluster yet, status not written/);
  });
});
