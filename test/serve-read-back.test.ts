import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
// @slow: starts lynq serve against PostgreSQL, a bare repository and the fake Kubernetes API
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { argoApp, type HealthWorld, makeHealthWorld, putLynqNodes } from './helpers/health-world.ts';
import { type KubeFake, type Obj, startKubeFake } from './helpers/kube-fake.ts';
import { type LynqProcess, parsePrometheusText, startLynq } from './helpers/serve.ts';
import { sampleValue } from './helpers/serve-world.ts';
import { setUp } from './helpers/teardown.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';

const phaseOf = (fake: KubeFake, uid: string) =>
  (
    (
      fake.get('LynqNode', 'tenants', `${uid}-web`)?.status as
        | { conditions?: Array<{ type: string; status: string }> }
        | undefined
    )?.conditions ?? []
  ).find((condition) => condition.type === 'Ready')?.status;

describe('lynq serve reads health back: after each sync, and on its own interval', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  let serve: LynqProcess;
  const node = (uid: string) => nodes.find((item) => item.metadata.name === `${uid}-web`)!;

  before(async () => {
    ({ world, fake, nodes, serve } = await setUp(async (teardown) => {
      const world = teardown.add(
        await makeHealthWorld({
          hub: 'shop',
          gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
          form: FORM,
          rows: [
            ['acme', 'gold'],
            ['globex', 'silver'],
          ],
        }),
        (it) => it.cleanup(),
      );
      // Synced once a day: the default (1m) is a cron tick at a fixed second of every minute, which lands in a
      // test's window now and then and would be a sync the tests do not expect.
      const hubFile = path.join(world.dir, 'hubs', 'hub.yaml');
      await writeFile(
        hubFile,
        (await readFile(hubFile, 'utf8')).replace('  source:\n', '  source:\n    syncInterval: 24h\n'),
      );
      // The engine's side first: the nodes in Git, their LynqNodes and Applications in the cluster.
      const synced = await world.sync();
      if (synced.code !== 0) throw new Error(`the first sync exited ${synced.code}: ${synced.out}${synced.err}`);
      const fake = teardown.add(await startKubeFake(), (it) => it.close());
      await world.writeKubeconfig(fake.kubeconfig());
      const nodes = await world.lynqNodes();
      putLynqNodes(fake, nodes);
      const head = await world.head();
      const find = (uid: string) => nodes.find((item) => item.metadata.name === `${uid}-web`)!;
      fake.put('Application', argoApp(find('acme'), 'application-healthy-synced-op-succeeded.yaml', head));
      fake.put('Application', argoApp(find('globex'), 'application-outofsync-progressing-op-running.yaml', head));
      const serve = startLynq(
        ['serve', ...world.dirs, '--listen', '127.0.0.1:0', '--read-back-interval', '1', '--no-watch'],
        { ...world.env, KUBECONFIG: world.kubeconfigFile },
      );
      teardown.add(serve, async (it) => {
        it.child.kill('SIGTERM');
        await it.exited;
      });
      return { world, fake, nodes, serve };
    }));
  });
  after(async () => {
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    await fake?.close();
    await world?.cleanup();
  });

  const leadTimeOf = (kube: KubeFake, uid: string) =>
    (
      kube.get('LynqNode', node(uid).metadata.namespace, `${uid}-web`)?.status as
        | { leadTime?: { seconds?: number } }
        | undefined
    )?.leadTime;
  /** The lead time histogram's observations of a leg (its `_count`). */
  const leadTimeCount = (families: ReturnType<typeof parsePrometheusText>, leg: string) =>
    families
      .get('lynq_node_lead_time_seconds')
      ?.samples.find(
        (sample) =>
          sample.name === 'lynq_node_lead_time_seconds_count' &&
          sample.labels.hub === 'shop' &&
          sample.labels.leg === leg,
      )?.value;
  const metrics = async () => parsePrometheusText(await (await fetch(`${await serve.url()}/metrics`)).text());

  test('the sync serve runs at start is read back: LynqNode statuses written, node health in /metrics', async () => {
    await serve.waitForLog(
      (logs) => logs.some((line) => line.msg === 'read back' && line.after === 'sync'),
      'the read-back after the first sync',
    );
    assert.equal(phaseOf(fake, 'acme'), 'True');
    assert.equal(phaseOf(fake, 'globex'), 'False');
    const families = await metrics();
    assert.equal(sampleValue(families, 'lynq_node_health', { hub: 'shop', form: 'web', phase: 'Ready' }), 1);
    assert.equal(sampleValue(families, 'lynq_node_health', { hub: 'shop', form: 'web', phase: 'Progressing' }), 1);
    assert.equal(sampleValue(families, 'lynq_nodes_past_progress_deadline', { hub: 'shop', form: 'web' }), 0);
    assert.equal(sampleValue(families, 'lynq_read_backs_total', { hub: 'shop', outcome: 'read' }), 1);
    // Lead time: acme's change is complete (Ready at its commit) and observed once per leg; globex's started, not applied.
    assert.equal(leadTimeCount(families, 'total'), 1);
    assert.equal(leadTimeCount(families, 'apply'), 1);
    assert.equal(typeof leadTimeOf(fake, 'acme')?.seconds, 'number');
    assert.deepEqual(Object.keys(leadTimeOf(fake, 'globex') ?? {}).sort(), ['commit', 'committedAt', 'seenAt']);
  });

  test('a node that turns Ready between syncs is seen on the interval, with no sync', async () => {
    const syncs = serve.logs.filter((line) => line.msg === 'sync finished').length;
    fake.put(
      'Application',
      argoApp(node('globex'), 'application-healthy-synced-op-succeeded.yaml', await world.head()),
    );
    await serve.waitForLog(
      (logs) => logs.some((line) => line.msg === 'read back' && line.after === 'interval' && line.Ready === 2),
      'an interval read-back finding both Ready',
    );
    assert.equal(phaseOf(fake, 'globex'), 'True');
    assert.equal(serve.logs.filter((line) => line.msg === 'sync finished').length, syncs, 'no sync ran for it');
    const families = await metrics();
    assert.equal(sampleValue(families, 'lynq_node_health', { hub: 'shop', form: 'web', phase: 'Ready' }), 2);
    assert.equal(sampleValue(families, 'lynq_node_health', { hub: 'shop', form: 'web', phase: 'Progressing' }), 0);
    assert.equal(leadTimeCount(families, 'total'), 2, "globex's change completed on the interval");
    // Later interval read-backs find nothing new: nothing is observed again.
    const reads = serve.logs.filter((line) => line.msg === 'read back').length;
    await serve.waitForLog(
      (logs) => logs.filter((line) => line.msg === 'read back').length >= reads + 2,
      'two more read-backs',
    );
    assert.equal(leadTimeCount(await metrics(), 'total'), 2);
  });

  test('a cluster that fails the read-back is logged and counted; /readyz stays ready within --ready-after, syncs go on', async () => {
    fake.forbid('applications');
    await serve.waitForLog(
      (logs) => logs.some((line) => line.msg === 'health read-back failed; publishing goes on'),
      'a failed read-back',
    );
    const families = await metrics();
    assert.ok((sampleValue(families, 'lynq_read_backs_total', { hub: 'shop', outcome: 'cluster-failed' }) ?? 0) >= 1);
    assert.equal((await fetch(`${await serve.url()}/readyz`)).status, 200);
    fake.forbid('applications', false);
  });
});
