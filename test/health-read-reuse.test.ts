import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { loadConfig, type Hub } from '../src/config/load.ts';
import type { ManifestsRepo } from '../src/git/manifests-repo.ts';
import type { ClusterRead } from '../src/health/read-back.ts';
import { readRolloutHealth } from '../src/health/rollout-health.ts';
import { REUSE_MAX_AGE_MS, readBackHub, type HubReadBack } from '../src/health/run.ts';
import { openKubeClient, type KubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { readBackAfterSync } from '../src/sync/read-back.ts';
import { captureStream } from './helpers/files.ts';
import { healthyArgoWorld, type HealthWorld } from './helpers/health-world.ts';
import type { KubeFake } from './helpers/kube-fake.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const UIDS = ['t00', 't01', 't02', 't03'];

/**
 * The read-back after a rollout step judges the gate's read of the cluster again at the
 * sync's commit instead of listing everything a second time: the same phases and status
 * writes as a fresh read, without its LISTs; and a fresh read whenever the branch moved on
 * or the read is old.
 */
describe('the read-back judges the rollout gate read again at the sync commit', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  let kube: KubeClient;
  let hub: Hub;
  let deps: ReturnType<typeof createSyncDeps>;
  let now = Date.now();
  const clock = () => now;
  /** LIST requests so far (a GET of one LynqNode, after a 409, is not one). */
  const lists = () =>
    fake.requests.filter((request) => request.method === 'GET' && /\/(applications|lynqnodes)$/.test(request.path))
      .length;
  /** The gate's read at the branch head, as `lynq sync` makes it (its LynqNodes listed for the read-back). */
  const gateRead = async (): Promise<ClusterRead> => {
    const repo: ManifestsRepo = await deps.openRepo(hub);
    try {
      const head = await repo.fetch('main');
      return (await readRolloutHealth(hub, repo, head, { kube, clock, logger: silentLogger(), listLynqNodes: true }))
        .read;
    } finally {
      await repo.close();
    }
  };
  const readBack = (earlier?: { read: ClusterRead; head: string | undefined }) =>
    readBackHub(hub, { kube, openRepo: deps.openRepo, clock, logger: silentLogger() }, { earlier });
  const phases = (result: HubReadBack) => {
    assert.equal(result.outcome, 'read', JSON.stringify(result));
    return result.outcome === 'read'
      ? result.nodes.map((node) => [node.uid, node.phase, node.reason, node.applied, node.commit?.commit])
      : [];
  };
  /** t00's row changes and a sync without a cluster commits it: the commit the read-back then runs at. */
  const commitRowChange = async (plan: string) => {
    await world.db.exec(`UPDATE customers SET plan = '${plan}' WHERE id = 't00'`);
    const synced = await world.sync();
    assert.equal(synced.code, 0, synced.out + synced.err);
    return world.head();
  };

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(
      FORM,
      UIDS.map((uid) => [uid, 'gold']),
    ));
    kube = await openKubeClient(
      { source: 'flag', files: [world.kubeconfigFile], context: undefined },
      { registry: new SecretRegistry(), logger: silentLogger() },
    );
    const config = await loadConfig({ hubsDir: world.dirs[1]!, formsDir: world.dirs[3]! });
    hub = config.hubs.get('shop')!;
    deps = createSyncDeps({ logger: silentLogger(), dryRun: false, diff: false, out: captureStream(), env: world.env });
    // Every status written once: later writes are the changes alone.
    assert.deepEqual(
      phases(await readBack()).map(([, phase]) => phase),
      UIDS.map(() => 'Ready'),
    );
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('at the sync commit: no LIST; the changed node Progressing (not applied) and its status written; the same phases and statuses as a fresh read', async () => {
    const read = await gateRead();
    const head = await commitRowChange('silver');
    const before = lists();
    const patches = fake.count('PATCH', '/lynqnodes/');
    const reused = await readBack({ read, head });
    assert.equal(lists(), before, 'the cluster is not listed again');
    assert.equal(reused.outcome === 'read' && reused.listRequests, 0);
    assert.deepEqual(phases(reused)[0], ['t00', 'Progressing', 'NotApplied', false, head]);
    assert.deepEqual(
      phases(reused)
        .slice(1)
        .map(([, phase]) => phase),
      ['Ready', 'Ready', 'Ready'],
    );
    assert.equal(fake.count('PATCH', '/lynqnodes/') - patches, 1, "only t00's status changed");
    const status = fake.get('LynqNode', 'tenants', 't00-web')?.status;
    assert.equal((status as { phase?: string } | undefined)?.phase, 'Progressing');
    assert.equal((status as { git?: { lastCommit?: string } } | undefined)?.git?.lastCommit, head);

    // A fresh read of the same cluster and branch agrees, and finds nothing left to write.
    const fresh = await readBack();
    assert.ok(lists() > before, 'a read-back without an earlier read lists');
    assert.deepEqual(phases(fresh), phases(reused));
    assert.equal(fresh.outcome === 'read' && fresh.statuses.patched, 0);
  });

  test('the branch moved on since the sync (another push): the cluster is read afresh', async () => {
    const read = await gateRead();
    const ours = await commitRowChange('bronze');
    const theirs = await commitRowChange('gold');
    assert.notEqual(ours, theirs);
    const before = lists();
    const result = await readBack({ read, head: ours });
    assert.ok(lists() > before);
    assert.deepEqual(phases(result)[0], ['t00', 'Progressing', 'NotApplied', false, theirs]);
  });

  test(`a read older than ${REUSE_MAX_AGE_MS / 1000} s is not judged again: the cluster is read afresh`, async () => {
    const read = await gateRead();
    const head = await commitRowChange('silver');
    now += REUSE_MAX_AGE_MS + 1000;
    const before = lists();
    const result = await readBack({ read, head });
    assert.ok(lists() > before);
    assert.deepEqual(phases(result)[0], ['t00', 'Progressing', 'NotApplied', false, head]);
  });

  test("the read's head is not an ancestor of the branch head: the cluster is read afresh", async () => {
    const read = await gateRead();
    const head = await commitRowChange('bronze');
    // A read that claims a head off the branch's history.
    const offside = { ...read, head: '0000000000000000000000000000000000000001' };
    const before = lists();
    const result = await readBack({ read: offside, head });
    assert.ok(lists() > before);
    assert.deepEqual(phases(result)[0], ['t00', 'Progressing', 'NotApplied', false, head]);
  });

  test('lynq sync hands the gate read on only when the sync planned once: a second plan (the branch moved under it) reads afresh', async () => {
    const read = await gateRead();
    const head = await commitRowChange('gold');
    const plan = { hub: 'shop', nodes: [], rendered: 0, existingNodes: UIDS.length };
    const afterSync = async (attempts: number) =>
      readBackAfterSync(
        [hub],
        [
          {
            hub: 'shop',
            outcome: 'published',
            plan,
            commit: head,
            attempts,
            handOff: { repo: await deps.openRepo(hub), gateRead: read },
          },
        ],
        {
          kubeconfig: world.kubeconfigFile,
          env: world.env,
          logger: silentLogger(),
          registry: new SecretRegistry(),
          openRepo: deps.openRepo,
          clock,
        },
      );
    let before = lists();
    const [once] = await afterSync(1);
    assert.equal(lists(), before, 'planned once: the gate read is judged again');
    assert.deepEqual(phases(once!)[0], ['t00', 'Progressing', 'NotApplied', false, head]);
    before = lists();
    const [twice] = await afterSync(2);
    assert.ok(lists() > before, 'planned twice: read afresh');
    assert.deepEqual(phases(twice!), phases(once!));
  });
});
