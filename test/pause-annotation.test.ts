import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formYaml } from './helpers/config.ts';
import { commitCount, logMessages, readTree } from './helpers/git.ts';
import { argoApp, healthyArgoWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import type { KubeFake, Obj } from './helpers/kube-fake.ts';

// Pausing one node by an annotation on its LynqNode (spec.gitops.pauseFromLynqNode): through
// lynq sync against PostgreSQL, a real bare repository and the fake Kubernetes API. The hub
// has two forms, web and api; the annotation pauses acme's web node only.

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { PLAN: "{{ plan }}" }
`;
const API_FORM = formYaml(
  `  configMaps:
    - id: limits
      nameTemplate: "{{ uid }}-limits"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { PLAN: "{{ plan }}" }
`,
  { name: 'api', hubId: 'shop' },
);

type Condition = { type: string; status: string; reason: string; message: string };
const pausedOf = (fake: KubeFake, name: string) =>
  ((fake.get('LynqNode', 'tenants', name)?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (condition) => condition.type === 'Paused',
  );
const LIST_PATH = '/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes';

describe('pausing a node by an annotation on its LynqNode (spec.gitops.pauseFromLynqNode)', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  const kube = () => ['--kubeconfig', world.kubeconfigFile];
  const hubFile = () => path.join(world.dir, 'hubs', 'hub.yaml');
  const fileAt = async (file: string) => (await readTree(world.repo, 'main')).get(file);
  const annotate = (name: string, annotations: Record<string, string> | undefined) => {
    const object = structuredClone(fake.get('LynqNode', 'tenants', name)) as Obj;
    const metadata = object.metadata as { annotations?: Record<string, string> };
    const kept = Object.fromEntries(
      Object.entries(metadata.annotations ?? {}).filter(([key]) => !key.startsWith('lynq.sh/paused')),
    );
    metadata.annotations = { ...kept, ...annotations };
    fake.put('LynqNode', object);
  };
  const optIn = async (on: boolean) => {
    const text = (await readFile(hubFile(), 'utf8')).replace('    pauseFromLynqNode: true\n', '');
    await writeFile(
      hubFile(),
      on ? text.replace('    engine: argocd\n', '    engine: argocd\n    pauseFromLynqNode: true\n') : text,
    );
  };

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(FORM, [
      ['acme', 'gold'],
      ['globex', 'silver'],
    ]));
    await writeFile(path.join(world.dir, 'forms', 'api.yaml'), API_FORM);
    const synced = await world.sync();
    assert.equal(synced.code, 0, synced.out + synced.err);
    const nodes = await world.lynqNodes();
    putLynqNodes(
      fake,
      nodes.filter((node) => node.metadata.name.endsWith('-api')),
    );
    const head = await world.head();
    for (const node of nodes)
      fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', head));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('opt-in off: a sync sends no LynqNode LIST at all, whatever the annotations say', async () => {
    annotate('acme-web', { 'lynq.sh/paused': 'true' });
    await world.db.exec("UPDATE customers SET plan = 'platinum' WHERE id = 'acme'");
    const from = fake.requests.length;
    const dry = await world.sync([...kube(), '--dry-run']);
    assert.equal(dry.code, 0, dry.out + dry.err);
    assert.equal(
      fake.requests.length - from,
      0,
      `no request to the cluster: ${JSON.stringify(fake.requests.slice(from).map((request) => request.path))}`,
    );
    assert.match(dry.out, /shop\/web\/acme: updated/);
    await world.db.exec("UPDATE customers SET plan = 'gold' WHERE id = 'acme'");
    annotate('acme-web', undefined);
  });

  test("the annotated node's folder is left as it is while another row, and the uid's other form, change; its status says Paused and why", async () => {
    await optIn(true);
    annotate('acme-web', { 'lynq.sh/paused': 'true', 'lynq.sh/paused-reason': 'customer migration, ticket 42' });
    const webBefore = await fileAt('nodes/shop/web/acme/settings.yaml');
    const commits = await commitCount(world.repo, 'main');
    await world.db.exec(
      "UPDATE customers SET plan = 'platinum' WHERE id = 'acme'; UPDATE customers SET plan = 'bronze' WHERE id = 'globex'",
    );
    const from = fake.requests.length;
    const metricsFile = path.join(world.dir, 'lynq.prom');
    const synced = await world.sync([...kube(), '--metrics-file', metricsFile]);
    assert.equal(synced.code, 0, synced.out + synced.err);
    assert.match(await readFile(metricsFile, 'utf8'), /^lynq_nodes\{hub="shop",state="paused"\} 1$/m);
    // The pause LIST comes before anything else the sync asks of the cluster, metadata only.
    const first = fake.requests[from]!;
    assert.equal(first.path, LIST_PATH);
    assert.equal(first.query.labelSelector, 'lynq.sh/hub=shop');
    assert.match(first.accept ?? '', /as=PartialObjectMetadataList/);

    assert.match(synced.out, /^hub\s+added\s+updated\s+unchanged\s+removed\s+held\s+paused\s+failed\s+commit$/m);
    assert.match(synced.out, /shop\s+0\s+3\s+0\s+0\s+0\s+1\s+0\s+[0-9a-f]{12}/);
    assert.match(
      synced.out,
      /shop\/web\/acme: paused \(paused by annotation lynq\.sh\/paused on LynqNode tenants\/acme-web \("customer migration, ticket 42"\): left as it is in Git\)/,
    );
    assert.equal(await fileAt('nodes/shop/web/acme/settings.yaml'), webBefore, 'the paused node keeps what Git has');
    assert.match(
      (await fileAt('nodes/shop/api/acme/limits.yaml'))!,
      /PLAN: platinum/,
      "the uid's other form is not paused",
    );
    assert.match((await fileAt('nodes/shop/web/globex/settings.yaml'))!, /PLAN: bronze/);
    assert.equal(await commitCount(world.repo, 'main'), commits + 1);
    const [message] = await logMessages(world.repo, 'main');
    assert.doesNotMatch(message!, /web\/acme/);
    assert.match(message!, /Not in this commit: 1 paused/);

    const paused = pausedOf(fake, 'acme-web');
    assert.deepEqual([paused?.status, paused?.reason], ['True', 'PausedByAnnotation']);
    assert.match(paused!.message, /lynq\.sh\/paused on LynqNode tenants\/acme-web \("customer migration, ticket 42"\)/);
    assert.deepEqual(
      [pausedOf(fake, 'globex-web')?.status, pausedOf(fake, 'globex-web')?.reason],
      ['False', 'NotPaused'],
    );
    assert.equal(pausedOf(fake, 'acme-api')?.status, 'False');
  });

  test('lynq status notes and counts the paused node; --json says why', async () => {
    const status = await world.status(kube());
    assert.match(status.out, /^shop\/web\/acme: paused: paused by annotation lynq\.sh\/paused/m);
    assert.match(status.out, /, paused 1$/m);
    const json = JSON.parse((await world.status([...kube(), '--json'])).out) as Array<{
      form: string;
      uid: string;
      paused: string | null;
    }>;
    assert.deepEqual(
      json.filter((node) => node.paused !== null).map((node) => `${node.form}/${node.uid}`),
      ['web/acme'],
    );
  });

  test('the cluster cannot be read: the hub fails, named, and Git is untouched though a row changed', async () => {
    await world.db.exec("UPDATE customers SET plan = 'iron' WHERE id = 'globex'");
    const head = await world.head();
    fake.failNext('GET', '/namespaces/tenants/lynqnodes', 500);
    const failed = await world.sync(kube());
    assert.equal(failed.code, 3, failed.out + failed.err);
    assert.match(failed.out + failed.err, /cluster-failed/);
    assert.match(failed.out + failed.err, /spec\.gitops\.pauseFromLynqNode: cannot list the hub's LynqNodes/);
    assert.equal(await world.head(), head, 'nothing published');

    // No cluster configured at all: the same, named, before any request.
    const from = fake.requests.length;
    const blind = await world.sync();
    assert.equal(blind.code, 3, blind.out + blind.err);
    assert.match(blind.out + blind.err, /spec\.gitops\.pauseFromLynqNode is true, but no cluster is configured/);
    assert.equal(fake.requests.length, from);
    assert.equal(await world.head(), head, 'nothing published');
  });

  test('while paused, changes accumulate; unpausing applies them as one change in one commit', async () => {
    // The failed syncs above left globex's change unpublished: this one publishes it, acme's web node still paused.
    await world.db.exec("UPDATE customers SET plan = 'diamond' WHERE id = 'acme'");
    const synced = await world.sync(kube());
    assert.equal(synced.code, 0, synced.out + synced.err);
    assert.match(synced.out, /shop\/web\/acme: paused/);
    assert.match((await fileAt('nodes/shop/web/acme/settings.yaml'))!, /PLAN: gold/);
    assert.match((await fileAt('nodes/shop/api/acme/limits.yaml'))!, /PLAN: diamond/);

    const commits = await commitCount(world.repo, 'main');
    annotate('acme-web', { 'lynq.sh/paused': 'false' });
    const unpaused = await world.sync(kube());
    assert.equal(unpaused.code, 0, unpaused.out + unpaused.err);
    assert.match(unpaused.out, /shop\s+0\s+1\s+3\s+0\s+0\s+0\s+[0-9a-f]{12}/);
    assert.equal(await commitCount(world.repo, 'main'), commits + 1, 'one commit');
    assert.match((await fileAt('nodes/shop/web/acme/settings.yaml'))!, /PLAN: diamond/);
    const [message] = await logMessages(world.repo, 'main');
    assert.match(message!, /web\/acme/);
    assert.deepEqual([pausedOf(fake, 'acme-web')?.status, pausedOf(fake, 'acme-web')?.reason], ['False', 'NotPaused']);
    const again = await world.sync(kube());
    assert.equal(await commitCount(world.repo, 'main'), commits + 1, `and nothing more: ${again.out}`);
  });

  test('a pause on a hub a sync left whole, with no row changed: planned paused (the rows digest alone does not make the hub unchanged)', async () => {
    // Unpaused and unchanged twice: the hub state is whole, with this very rows digest.
    await world.sync(kube());
    const whole = await world.sync(kube());
    assert.match(whole.out, /shop\s+0\s+0\s+4\s+0\s+0\s+0\s+no changes/, whole.out);
    annotate('globex-web', { 'lynq.sh/paused': 'true' });
    const paused = await world.sync(kube());
    assert.equal(paused.code, 0, paused.out + paused.err);
    assert.match(paused.out, /shop\/web\/globex: paused/);
    assert.equal(pausedOf(fake, 'globex-web')?.reason, 'PausedByAnnotation');
    annotate('globex-web', undefined);
    const after = await world.sync(kube());
    assert.match(after.out, /shop\s+0\s+0\s+4\s+0\s+0\s+0\s+no changes/, after.out);
    assert.equal(pausedOf(fake, 'globex-web')?.reason, 'NotPaused');
  });

  test("a paused node outlives its row: deleted, the row's other form goes, the paused node stays as Git has it", async () => {
    annotate('globex-web', { 'lynq.sh/paused': 'yes' });
    const before = await fileAt('nodes/shop/web/globex/settings.yaml');
    await world.db.exec("DELETE FROM customers WHERE id = 'globex'");
    const synced = await world.sync(kube());
    assert.equal(synced.code, 0, synced.out + synced.err);
    assert.match(
      synced.out,
      /shop\/web\/globex: paused \(paused by annotation lynq\.sh\/paused on LynqNode tenants\/globex-web: left as it is in Git\)/,
    );
    assert.equal(await fileAt('nodes/shop/web/globex/settings.yaml'), before);
    assert.equal(await fileAt('nodes/shop/api/globex/limits.yaml'), undefined, 'removed: row deleted');
    assert.equal(pausedOf(fake, 'globex-web')?.reason, 'PausedByAnnotation');
    fake.assertClean();
  });
});
