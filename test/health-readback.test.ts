import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { after, before, describe, test } from 'node:test';
import { closedPort } from './helpers/db.ts';
import { argoApp, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake, type Obj } from './helpers/kube-fake.ts';

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}" }
  deployments:
    - id: app
      nameTemplate: "{{ uid }}-app"
      timeoutSeconds: 600
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

type StatusJson = Array<{
  hub: string;
  form: string;
  uid: string;
  phase: string;
  applied: boolean;
  commit: string | null;
  message: string;
  resources: { desired: number; ready: number; failed: number };
}>;

const byUid = (out: string) => new Map((JSON.parse(out) as StatusJson).map((node) => [node.uid, node]));
const statusOf = (fake: KubeFake, name: string) =>
  fake.get('LynqNode', 'tenants', name)?.status as Record<string, unknown> | undefined;
const patches = (fake: KubeFake) => fake.requests.filter((request) => request.method === 'PATCH');

describe('lynq status, Argo CD: the real client against the local API', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  let first: string;
  let second: string;
  const node = (uid: string) => nodes.find((item) => item.metadata.name === `${uid}-web`)!;

  before(async () => {
    world = await makeHealthWorld({
      hub: 'shop',
      gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: FORM,
      rows: [
        ['acme', 'gold'],
        ['globex', 'silver'],
        ['hooli', 'gold'],
        ['initech', 'gold'],
        ['umbrella', 'gold'],
        ['vandelay', 'gold'],
      ],
    });
    assert.equal((await world.sync()).code, 0);
    first = await world.head();
    await world.db.exec("UPDATE customers SET plan = 'bronze' WHERE id = 'globex'");
    assert.equal((await world.sync()).code, 0);
    second = await world.head();
    assert.notEqual(first, second);
    nodes = await world.lynqNodes();
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
    // vandelay's LynqNode is not in the cluster yet (the engine has not created it).
    putLynqNodes(fake, nodes, ['vandelay-web']);
    // acme: healthy at the head. globex: healthy, but at the commit before its change (another node's later commit would not matter).
    fake.put('Application', argoApp(node('acme'), 'application-healthy-synced-op-succeeded.yaml', second));
    fake.put('Application', argoApp(node('globex'), 'application-healthy-synced-op-succeeded.yaml', first));
    // hooli: an Application with no status yet. initech: Degraded (its Deployment). umbrella: no Application at all.
    const silent = argoApp(node('hooli'), 'application-healthy-synced-op-succeeded.yaml', second);
    delete silent.status;
    fake.put('Application', silent);
    fake.put(
      'Application',
      argoApp(node('initech'), 'application-degraded-synced.yaml', second, {
        resourceHealth: { app: 'Degraded', settings: 'none' },
      }),
    );
    fake.put('Application', argoApp(node('vandelay'), 'application-healthy-synced-op-succeeded.yaml', second));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test("one phase per node from the real objects; applied means the engine revision contains the node's last commit; statuses written; exit 1", async () => {
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    assert.equal(result.code, 1, result.err);
    const seen = byUid(result.out);
    assert.deepEqual(
      [...seen].map(([uid, item]) => [uid, item.phase, item.applied]),
      [
        ['acme', 'Ready', true],
        ['globex', 'Progressing', false],
        ['hooli', 'Unknown', false],
        ['initech', 'Degraded', true],
        ['umbrella', 'Missing', false],
        ['vandelay', 'Ready', true],
      ],
    );
    // acme's last commit is the first one (only globex changed since), which the head contains.
    assert.equal(seen.get('acme')!.commit, first);
    assert.equal(seen.get('globex')!.commit, second);
    assert.deepEqual(seen.get('acme')!.resources, { desired: 2, ready: 2, failed: 0 });
    assert.deepEqual(seen.get('initech')!.resources, { desired: 2, ready: 1, failed: 1 });
    assert.match(seen.get('initech')!.message, /exceeded its progress deadline/);

    // Requests: one GET of the LynqNode CRD (cluster-scoped, the clash check), one LIST of Applications and one of
    // LynqNodes (namespaced, by the hub's label, limit 500), then status patches.
    const lists = fake.requests.filter((request) => request.method === 'GET');
    assert.deepEqual(
      lists.map((request) => [request.path, request.query]),
      [
        ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions/lynqnodes.operator.lynq.sh', {}],
        [
          '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications',
          { labelSelector: 'lynq.sh/hub=shop', limit: '500' },
        ],
        ['/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes', { labelSelector: 'lynq.sh/hub=shop', limit: '500' }],
      ],
    );
    // Five LynqNodes exist; vandelay's is skipped, not an error.
    assert.deepEqual(
      patches(fake)
        .map((request) => [request.path, request.contentType])
        .sort(),
      ['acme', 'globex', 'hooli', 'initech', 'umbrella'].map((uid) => [
        `/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes/${uid}-web/status`,
        'application/merge-patch+json',
      ]),
    );
    const acme = statusOf(fake, 'acme-web')!;
    assert.equal(acme.phase, 'Ready');
    assert.deepEqual([acme.desiredResources, acme.readyResources, acme.failedResources], [2, 2, 0]);
    assert.deepEqual(acme.git, {
      lastCommit: first,
      lastCommitTime: (acme.git as { lastCommitTime: string }).lastCommitTime,
    });
    assert.equal(acme.appliedRevision, second);
    const conditions = acme.conditions as Array<{ type: string; status: string; reason: string }>;
    assert.deepEqual(
      conditions.map((condition) => [condition.type, condition.status, condition.reason]),
      [
        ['Ready', 'True', 'Reconciled'],
        ['Progressing', 'False', 'Reconciled'],
        ['Degraded', 'False', 'Reconciled'],
        ['Conflicted', 'False', 'NoConflict'],
        ['Paused', 'False', 'NotPaused'],
      ],
    );
    const initech = statusOf(fake, 'initech-web')!;
    assert.deepEqual(
      (initech.resourcePhases as Array<{ id: string; phase: string }>).map((item) => [item.id, item.phase]),
      [
        ['app', 'Degraded'],
        ['settings', 'Ready'],
      ],
    );
    assert.equal(statusOf(fake, 'umbrella-web')!.phase, 'Missing');
    assert.equal(fake.get('LynqNode', 'tenants', 'vandelay-web'), undefined);
    // Every status written is one the CRD in output-schema/ accepts (the API server would refuse others).
    const crd = parse(await readFile('output-schema/lynqnode-crd.yaml', 'utf8')) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: object } }> };
    };
    const validate = new Ajv({ strict: false }).compile(crd.spec.versions[0]!.schema.openAPIV3Schema);
    for (const uid of ['acme', 'globex', 'hooli', 'initech', 'umbrella']) {
      const object = fake.get('LynqNode', 'tenants', `${uid}-web`)!;
      assert.ok(validate(object), `${uid}: ${JSON.stringify(validate.errors)}`);
    }
    assert.equal(
      validate({ ...fake.get('LynqNode', 'tenants', 'acme-web')!, status: { ...acme, phase: 'Fine' } }),
      false,
      'the CRD does check the status',
    );
    fake.assertClean();
  });

  test('text output: one line per node (--problems: only those not Ready) and a count per phase', async () => {
    const all = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.match(all.out, /^shop\/web\/acme  Ready  2\/2 ready  [0-9a-f]{12}  applied and healthy$/m);
    assert.match(all.out, /^Ready 2, Progressing 1, Degraded 1, Missing 1, Unknown 1$/m);
    assert.match(all.out, /1 LynqNode\(s\) not in the cluster yet/);
    const problems = await world.status(['--kubeconfig', world.kubeconfigFile, '--problems']);
    assert.doesNotMatch(problems.out, /shop\/web\/acme /);
    assert.match(
      problems.out,
      /^shop\/web\/globex  Progressing  0\/2 ready  [0-9a-f]{12}  the engine has not applied the last commit yet$/m,
    );
    fake.assertClean();
  });

  test('a read-back of an unchanged cluster makes no PATCH; a change patches only the node that changed', async () => {
    const before = patches(fake).length;
    assert.equal((await world.status(['--kubeconfig', world.kubeconfigFile])).code, 1);
    assert.equal(patches(fake).length, before, 'no write for an unchanged cluster');
    fake.put('Application', argoApp(node('globex'), 'application-healthy-synced-op-succeeded.yaml', second));
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    assert.equal(byUid(result.out).get('globex')!.phase, 'Ready');
    assert.deepEqual(
      patches(fake)
        .slice(before)
        .map((request) => request.path),
      ['/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes/globex-web/status'],
    );
    const conditions = statusOf(fake, 'globex-web')!.conditions as Array<{ type: string; lastTransitionTime: string }>;
    assert.ok(conditions.every((condition) => typeof condition.lastTransitionTime === 'string'));
    fake.assertClean();
  });

  test('a 409 on the status patch is retried once on a fresh read', async () => {
    fake.put(
      'Application',
      argoApp(node('globex'), 'application-degraded-synced.yaml', second, { resourceHealth: { app: 'Degraded' } }),
    );
    // Someone else writes the LynqNode between our LIST and our PATCH.
    fake.failNext('PATCH', '/lynqnodes/globex-web/status', 409, () => {
      const current = fake.get('LynqNode', 'tenants', 'globex-web')!;
      fake.put('LynqNode', {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, 'example.com/touched': 'yes' },
        },
      });
    });
    const before = fake.requests.length;
    const result = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    assert.equal(byUid(result.out).get('globex')!.phase, 'Degraded');
    const mine = fake.requests.slice(before).filter((request) => request.path.includes('globex-web'));
    assert.deepEqual(
      mine.map((request) => request.method),
      ['PATCH', 'GET', 'PATCH'],
    );
    assert.equal(statusOf(fake, 'globex-web')!.phase, 'Degraded');
    fake.assertClean();
  });

  test('a wrong token (401) and a 403 are exit 3, naming the server and what was refused, never the token', async () => {
    await world.writeKubeconfig(fake.kubeconfig({ token: 'wrong-secret-token-42' }));
    const refused = await world.status(['--kubeconfig', world.kubeconfigFile], { LYNQ_LOG_LEVEL: 'debug' });
    assert.equal(refused.code, 3);
    assert.match(
      refused.out,
      new RegExp(
        `shop: cluster-failed: listing applications\\.argoproj\\.io in namespace argocd: the credentials were refused \\(401 Unauthorized\\).*\\(server ${fake.url.replace(/\./g, '\\.')}\\)`,
      ),
    );
    assert.doesNotMatch(refused.out + refused.err, /wrong-secret-token-42/);
    await world.writeKubeconfig(fake.kubeconfig());
    fake.forbid('lynqnodes');
    const forbidden = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.equal(forbidden.code, 3);
    assert.match(
      forbidden.out,
      /listing lynqnodes\.operator\.lynq\.sh in namespace tenants: forbidden \(403\): .*cannot list resource "lynqnodes"/,
    );
    assert.doesNotMatch(forbidden.out + forbidden.err, new RegExp(fake.token));
    fake.forbid('lynqnodes', false);
    fake.assertClean();
  });

  test('a cluster that cannot be reached is exit 3; a 500 too; a context that does not exist and no cluster at all are exit 2', async () => {
    const port = await closedPort();
    await world.writeKubeconfig(fake.kubeconfig({ server: `https://127.0.0.1:${port}` }));
    const down = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.equal(down.code, 3);
    assert.match(
      down.out,
      new RegExp(`cannot reach the Kubernetes API: ECONNREFUSED.*\\(server https://127\\.0\\.0\\.1:${port}\\)`),
    );
    await world.writeKubeconfig(fake.kubeconfig());
    fake.failNext('GET', '/namespaces/argocd/applications', 500);
    const broken = await world.status(['--kubeconfig', world.kubeconfigFile]);
    assert.equal(broken.code, 3);
    assert.match(broken.out, /the API answered 500/);
    const context = await world.status(['--kubeconfig', world.kubeconfigFile, '--context', 'nope']);
    assert.equal(context.code, 2);
    assert.match(context.err, /no context named "nope" in kubeconfig .*\(contexts: fake, other\)/);
    const none = await world.status([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster/);
    // KUBECONFIG is found as kubectl finds it.
    const fromEnv = await world.status(['--json'], { KUBECONFIG: world.kubeconfigFile });
    assert.equal(fromEnv.code, 1);
    fake.assertClean();
  });
});
