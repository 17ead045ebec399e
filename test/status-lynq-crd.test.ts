import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { healthyArgoWorld, type HealthWorld } from './helpers/health-world.ts';
import { bridgeCrd, type KubeFake } from './helpers/kube-fake.ts';

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}" }
`;

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/lynqnodes.operator.lynq.sh';
/** The Lynq operator's own LynqNode CRD (abbreviated; its source and licence in test/fixtures/lynq/README.md). */
const operatorCrd = async () =>
  parse(await readFile('test/fixtures/lynq/crd/operator.lynq.sh_lynqnodes.abbreviated.yaml', 'utf8')) as Parameters<
    KubeFake['putCrd']
  >[0];

describe('lynq status and the LynqNode CRD: the bridge, the Lynq operator, neither, or not allowed to look', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  const status = (args: string[] = []) => world.status(['--kubeconfig', world.kubeconfigFile, ...args]);
  const crdGets = () => fake.count('GET', '/customresourcedefinitions/');

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(FORM, [
      ['acme', 'gold'],
      ['globex', 'silver'],
    ]));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test("the bridge's CRD (output-schema/lynqnode-crd.yaml): one GET, nothing said, exit 0", async () => {
    const result = await status();
    assert.equal(result.code, 0, result.err);
    assert.equal(crdGets(), 1);
    assert.match(result.out, /^Ready 2, Progressing 0, Degraded 0, Missing 0, Unknown 0$/m);
    assert.doesNotMatch(result.out + result.err, /warning|note:|CRD/);
    // One from before the annotation is still told by its spec (inputs, resources).
    const older = bridgeCrd();
    delete older.metadata.annotations;
    fake.putCrd(older);
    const unannotated = await status();
    assert.equal(unannotated.code, 0);
    assert.doesNotMatch(unannotated.out + unannotated.err, /warning|note:|CRD/);
    fake.putCrd(bridgeCrd());
    fake.assertClean();
  });

  test("the Lynq operator's CRD: a warning naming it and what to do; the read-back still runs and the exit code is the nodes'", async () => {
    fake.putCrd(await operatorCrd());
    const text = await status();
    assert.equal(text.code, 0, text.err);
    const warning =
      /^warning: the cluster's LynqNode CRD \(lynqnodes\.operator\.lynq\.sh\) is the Lynq operator's \(its spec has configMaps: the resolved resources Lynq applies itself\)\. .*a running Lynq operator would reconcile them\. See "Coming from Lynq" \(docs\/coming-from-lynq\.md\): .*apply output-schema\/lynqnode-crd\.yaml\.$/m;
    assert.match(text.out, warning);
    assert.match(text.out, /^shop\/web\/acme  Ready  /m);
    assert.match(text.out, /^Ready 2, /m);
    // --json: stdout stays the array of nodes; the warning goes to stderr.
    const json = await status(['--json']);
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(
      (JSON.parse(json.out) as Array<{ uid: string }>).map((node) => node.uid),
      ['acme', 'globex'],
    );
    assert.match(json.err, warning);
    // A CRD of that name the bridge cannot read at all is not taken for ours either.
    fake.putCrd({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'lynqnodes.operator.lynq.sh' },
      spec: { group: 'operator.lynq.sh' },
    });
    assert.match(
      (await status()).out,
      /^warning: the object is not a CustomResourceDefinition the bridge can read \(.* at spec\.names\)$/m,
    );
    fake.putCrd(bridgeCrd());
    fake.assertClean();
  });

  test('no LynqNode CRD at all (404): nothing said, exit 0', async () => {
    fake.removeCrd('lynqnodes.operator.lynq.sh');
    const before = crdGets();
    const result = await status();
    assert.equal(result.code, 0, result.err);
    assert.equal(crdGets(), before + 1, 'it did ask');
    assert.doesNotMatch(result.out + result.err, /warning|note:|CRD/);
    fake.putCrd(bridgeCrd());
    fake.assertClean();
  });

  test('not allowed to read CRDs (403): a note naming the refused permission, never the token; the read-back runs, exit 0', async () => {
    fake.forbid('customresourcedefinitions');
    try {
      const result = await status();
      assert.equal(result.code, 0, result.err);
      assert.match(
        result.out,
        /^note: the LynqNode CRD was not checked against the Lynq operator's: reading CustomResourceDefinition lynqnodes\.operator\.lynq\.sh: forbidden \(403\): .*cannot get resource "customresourcedefinitions" in API group "apiextensions\.k8s\.io" at the cluster scope \(server https:\/\/127\.0\.0\.1:\d+\); the check needs get on customresourcedefinitions\.apiextensions\.k8s\.io lynqnodes\.operator\.lynq\.sh$/m,
      );
      assert.match(result.out, /^Ready 2, /m);
      assert.doesNotMatch(result.out + result.err, new RegExp(fake.token));
    } finally {
      fake.forbid('customresourcedefinitions', false);
    }
    fake.assertClean();
  });

  test('any other failure of that GET (a 500) is a cluster failure, as every other read: said, and exit 3; the nodes are still shown', async () => {
    fake.failNext('GET', CRD_PATH, 500);
    const result = await status();
    assert.equal(result.code, 3);
    assert.match(
      result.out,
      /^LynqNode CRD: cluster-failed: reading CustomResourceDefinition lynqnodes\.operator\.lynq\.sh: the API answered 500: queued 500 \(server https:\/\/127\.0\.0\.1:\d+\)$/m,
    );
    assert.match(result.out, /^shop\/web\/acme  Ready  /m);
    fake.assertClean();
  });
});
