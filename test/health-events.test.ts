import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EVENTS_PER_RUN, recordNodeEvents } from '../src/health/events.ts';
import { openKubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { argoApp, type HealthWorld, healthyArgoWorld } from './helpers/health-world.ts';
import type { KubeFake, Obj } from './helpers/kube-fake.ts';

// Kubernetes Events on LynqNodes, against the fake API (which validates each Event as the
// API server's events.k8s.io/v1 validation does): a node turning Degraded and back, a
// repeat counted in the event's series, a bounded number per run.

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const HEALTHY = 'application-healthy-synced-op-succeeded.yaml';
const DEGRADED = 'application-degraded-synced.yaml';

type Event = Obj & {
  reason: string;
  type: string;
  note: string;
  action: string;
  regarding: { kind: string; name: string; uid?: string };
  series?: { count: number };
};

describe('Events on LynqNodes: Degraded and back, repeats counted, a bounded number per run', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  const kube = () => ['--kubeconfig', world.kubeconfigFile];
  const events = () => fake.all('Event', 'tenants') as Event[];
  const phaseEvents = () => events().filter((event) => event.reason !== 'RolloutCompleted');
  const completed = () => events().filter((event) => event.reason === 'RolloutCompleted');
  const setHealth = async (uid: string, file: string) => {
    const node = nodes.find((candidate) => candidate.metadata.name === `${uid}-web`)!;
    fake.put(
      'Application',
      argoApp(node, file, await world.head(), file === DEGRADED ? { resourceHealth: { settings: 'Degraded' } } : {}),
    );
  };

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(FORM, [
      ['acme', 'gold'],
      ['globex', 'silver'],
    ]));
    nodes = await world.lynqNodes();
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('the first read-back of healthy nodes records no phase event, and one RolloutCompleted: every node of the form Ready on its version', async () => {
    const status = await world.status(kube());
    assert.equal(status.code, 0, status.out + status.err);
    const [event, ...rest] = events();
    assert.deepEqual(rest, []);
    assert.deepEqual([event?.reason, event?.type, event?.action], ['RolloutCompleted', 'Normal', 'Rollout']);
    assert.match(
      event?.note ?? '',
      /^every node of form web \(2\) is Ready on form version [0-9a-f]{12}; this node was the last$/,
    );
    await world.status(kube());
    assert.equal(events().length, 1);
  });

  test('a node turning Degraded: one Warning NodeDegraded on its LynqNode (with its uid), as the API accepts it; a read-back that finds it still Degraded adds none', async () => {
    await setHealth('acme', DEGRADED);
    assert.equal((await world.status(kube())).code, 1);
    const [event, ...rest] = phaseEvents();
    assert.deepEqual(rest, []);
    assert.equal(event?.reason, 'NodeDegraded');
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.action, 'ReadBack');
    assert.match(event?.note ?? '', /^Degraded: /);
    assert.deepEqual(
      [event?.regarding.kind, event?.regarding.name, event?.regarding.uid],
      ['LynqNode', 'acme-web', fake.get('LynqNode', 'tenants', 'acme-web')!.metadata.uid],
    );
    await world.status(kube());
    assert.equal(phaseEvents().length, 1);
    assert.equal(phaseEvents()[0]!.series, undefined);
    fake.assertClean();
  });

  test('back to Ready: a Normal NodeRecovered; Degraded again the same way: the first event counted again (series.count 2), not a new one', async () => {
    await setHealth('acme', HEALTHY);
    assert.equal((await world.status(kube())).code, 0);
    assert.deepEqual(
      phaseEvents()
        .map((event) => `${event.reason} ${event.type}`)
        .sort(),
      ['NodeDegraded Warning', 'NodeRecovered Normal'],
    );
    await setHealth('acme', DEGRADED);
    await world.status(kube());
    const degraded = phaseEvents().filter((event) => event.reason === 'NodeDegraded');
    assert.equal(degraded.length, 1);
    assert.equal(degraded[0]!.series?.count, 2);
    // The form's version completed once, at the first read-back: recovering tells it again never (found, not counted).
    assert.equal(completed().length, 1);
    assert.equal(completed()[0]!.series, undefined);
    fake.assertClean();
  });

  test(`at most ${EVENTS_PER_RUN} events a run; the rest counted as dropped`, async () => {
    const client = await openKubeClient(
      { source: 'flag', files: [world.kubeconfigFile], context: undefined },
      { registry: new SecretRegistry(), logger: silentLogger() },
    );
    const many = Array.from({ length: EVENTS_PER_RUN + 5 }, (_, i) => ({
      namespace: 'tenants',
      lynqNode: { name: `n${i}-web` },
      type: 'Warning' as const,
      reason: 'NodeDegraded' as const,
      note: `Degraded: node ${i}`,
    }));
    const before = events().length;
    const result = await recordNodeEvents(client, 'shop', many, { clock: Date.now, logger: silentLogger() });
    assert.deepEqual(result, { created: EVENTS_PER_RUN, repeated: 0, known: 0, dropped: 5, failed: 0 });
    assert.equal(events().length, before + EVENTS_PER_RUN);
    fake.assertClean();
  });

  test('a form change: no RolloutCompleted while a node is on the old version or not Ready; one when the last turns Ready, on that node; never again for that version, not even after a node recovers', async () => {
    await setHealth('acme', HEALTHY);
    await world.status(kube());
    const earlier = new Set(completed().map((event) => event.metadata.name));
    const formFile = path.join(world.dir, 'forms', 'web.yaml');
    await writeFile(
      formFile,
      (await readFile(formFile, 'utf8')).replace('plan: "{{ plan }}"', 'plan: "{{ plan }}-v2"'),
    );
    const synced = await world.sync();
    assert.equal(synced.code, 0, synced.out + synced.err);
    const head = await world.head();
    nodes = await world.lynqNodes();
    const fresh = () => completed().filter((event) => !earlier.has(event.metadata.name));
    // The engine has applied the new commit for acme only: globex's Application is still at the old one.
    fake.put('Application', argoApp(nodes.find((node) => node.metadata.name === 'acme-web')!, HEALTHY, head));
    await world.status(kube());
    assert.deepEqual(fresh(), []);
    fake.put('Application', argoApp(nodes.find((node) => node.metadata.name === 'globex-web')!, HEALTHY, head));
    assert.equal((await world.status(kube())).code, 0);
    const [event, ...rest] = fresh();
    assert.deepEqual(rest, []);
    assert.equal(event?.regarding.name, 'globex-web');
    assert.equal(event?.regarding.uid, fake.get('LynqNode', 'tenants', 'globex-web')!.metadata.uid);
    await world.status(kube());
    fake.put(
      'Application',
      argoApp(nodes.find((node) => node.metadata.name === 'acme-web')!, DEGRADED, head, {
        resourceHealth: { settings: 'Degraded' },
      }),
    );
    await world.status(kube());
    fake.put('Application', argoApp(nodes.find((node) => node.metadata.name === 'acme-web')!, HEALTHY, head));
    await world.status(kube());
    assert.equal(fresh().length, 1);
    assert.equal(fresh()[0]!.series, undefined);
    assert.equal(phaseEvents().find((candidate) => candidate.reason === 'NodeRecovered')?.series?.count, 3);
    fake.assertClean();
  });
});
