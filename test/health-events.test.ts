import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EVENTS_PER_RUN, recordNodeEvents } from '../src/health/events.ts';
import { openKubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { argoApp, type HealthWorld, healthyArgoWorld } from './helpers/health-world.ts';
import type { KubeFake, Obj } from './helpers/kube-fake.ts';

// Kubernetes Events on LynqNodes, against the fake API (which validates each Event as the
// API server's events.k8s.io/v1 validation does): a node turning Degraded and back, a
// repeat counted in the event's series, a bounded number per run.

const FORM = '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const HEALTHY = 'application-healthy-synced-op-succeeded.yaml';
const DEGRADED = 'application-degraded-synced.yaml';

type Event = Obj & { reason: string; type: string; note: string; action: string; regarding: { kind: string; name: string; uid?: string }; series?: { count: number } };

describe('Events on LynqNodes: Degraded and back, repeats counted, a bounded number per run', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  const kube = () => ['--kubeconfig', world.kubeconfigFile];
  const events = () => fake.all('Event', 'tenants') as Event[];
  const setHealth = async (uid: string, file: string) => {
    const node = nodes.find((candidate) => candidate.metadata.name === `${uid}-web`)!;
    fake.put('Application', argoApp(node, file, await world.head(), file === DEGRADED ? { resourceHealth: { settings: 'Degraded' } } : {}));
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

  test('the first read-back of healthy nodes records none', async () => {
    const status = await world.status(kube());
    assert.equal(status.code, 0, status.out + status.err);
    assert.deepEqual(events(), []);
  });

  test('a node turning Degraded: one Warning NodeDegraded on its LynqNode (with its uid), as the API accepts it; a read-back that finds it still Degraded adds none', async () => {
    await setHealth('acme', DEGRADED);
    assert.equal((await world.status(kube())).code, 1);
    const [event, ...rest] = events();
    assert.deepEqual(rest, []);
    assert.equal(event?.reason, 'NodeDegraded');
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.action, 'ReadBack');
    assert.match(event?.note ?? '', /^Degraded: /);
    assert.deepEqual([event?.regarding.kind, event?.regarding.name, event?.regarding.uid], ['LynqNode', 'acme-web', fake.get('LynqNode', 'tenants', 'acme-web')!.metadata.uid]);
    await world.status(kube());
    assert.equal(events().length, 1);
    assert.equal(events()[0]!.series, undefined);
    fake.assertClean();
  });

  test('back to Ready: a Normal NodeRecovered; Degraded again the same way: the first event counted again (series.count 2), not a new one', async () => {
    await setHealth('acme', HEALTHY);
    assert.equal((await world.status(kube())).code, 0);
    assert.deepEqual(
      events()
        .map((event) => `${event.reason} ${event.type}`)
        .sort(),
      ['NodeDegraded Warning', 'NodeRecovered Normal'],
    );
    await setHealth('acme', DEGRADED);
    await world.status(kube());
    const degraded = events().filter((event) => event.reason === 'NodeDegraded');
    assert.equal(degraded.length, 1);
    assert.equal(degraded[0]!.series?.count, 2);
    fake.assertClean();
  });

  test(`at most ${EVENTS_PER_RUN} events a run; the rest counted as dropped`, async () => {
    const client = await openKubeClient({ source: 'flag', files: [world.kubeconfigFile], context: undefined }, { registry: new SecretRegistry(), logger: silentLogger() });
    const many = Array.from({ length: EVENTS_PER_RUN + 5 }, (_, i) => ({
      namespace: 'tenants',
      lynqNode: { name: `n${i}-web` },
      type: 'Warning' as const,
      reason: 'NodeDegraded' as const,
      note: `Degraded: node ${i}`,
    }));
    const before = events().length;
    const result = await recordNodeEvents(client, 'shop', many, { clock: Date.now, logger: silentLogger() });
    assert.deepEqual(result, { created: EVENTS_PER_RUN, repeated: 0, dropped: 5, failed: 0 });
    assert.equal(events().length, before + EVENTS_PER_RUN);
    fake.assertClean();
  });
});
