import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import {
  completesLeadTime,
  type LeadTime,
  leadTimeLegs,
  leadTimeOfOwned,
  nextLeadTime,
  parseLeadTime,
} from '../src/health/lead-time.ts';
import { nodeStatus } from '../src/health/lynqnode-status.ts';
import pg from 'pg';
import { POSTGRES } from './helpers/db.ts';
import { git } from './helpers/git.ts';
import { argoApp, type HealthWorld, makeHealthWorld, putLynqNodes } from './helpers/health-world.ts';
import { type KubeFake, type Obj, startKubeFake } from './helpers/kube-fake.ts';
import { parsePrometheusText } from './helpers/serve.ts';
import { setUp, type Teardown } from './helpers/teardown.ts';

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}" }
`;

const HEALTHY = 'application-healthy-synced-op-succeeded.yaml';
/** Every leg's series, at zero: the hub was read back and completed no change. */
const NONE = { total: 0, commit: 0, apply: 0, ready: 0 };

/** The lead time histogram's `_count` per leg for a hub, from a metrics file (none: no series). */
async function leadTimeCounts(file: string, hub: string): Promise<Record<string, number>> {
  const family = parsePrometheusText(await readFile(file, 'utf8')).get('lynq_node_lead_time_seconds');
  assert.equal(family?.type, 'histogram', 'the lead time family is declared as a histogram');
  const counts: Record<string, number> = {};
  for (const sample of family!.samples)
    if (sample.name === 'lynq_node_lead_time_seconds_count' && sample.labels.hub === hub)
      counts[sample.labels.leg!] = sample.value;
  return counts;
}

describe('lead time, row to Ready: a row change → lynq sync → the engine applies it → Ready', () => {
  let teardown: Teardown;
  let world: HealthWorld;
  let fake: KubeFake;
  let nodes: Obj[];
  before(async () => {
    ({ teardown, world, fake, nodes } = await setUp(async (started) => {
      const world = started.add(
        await makeHealthWorld({
          hub: 'shop',
          gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
          form: FORM,
          rows: [
            ['acme', 'gold'],
            ['globex', 'silver'],
          ],
          extraSpec: '  statusWriteback: { table: lynq_node_status }\n',
        }),
        (it) => it.cleanup(),
      );
      const synced = await world.sync();
      if (synced.code !== 0) throw new Error(`the first sync exited ${synced.code}:\n${synced.out}${synced.err}`);
      const fake = started.add(await startKubeFake(), (it) => it.close());
      await world.writeKubeconfig(fake.kubeconfig());
      const nodes = await world.lynqNodes();
      putLynqNodes(fake, nodes);
      const head = await world.head();
      for (const node of nodes) fake.put('Application', argoApp(node, HEALTHY, head));
      return { teardown: started, world, fake, nodes };
    }));
  });
  after(() => teardown?.run());

  const node = (uid: string): Obj => nodes.find((item) => item.metadata.name === `${uid}-web`)!;
  const leadTimeOf = (uid: string): LeadTime | undefined =>
    (fake.get('LynqNode', node(uid).metadata.namespace, `${uid}-web`)?.status as { leadTime?: LeadTime } | undefined)
      ?.leadTime;
  const metricsFile = (name: string): string => path.join(world.dir, `${name}.prom`);
  const sync = async (name: string) => {
    const result = await world.sync(['--kubeconfig', world.kubeconfigFile, '--metrics-file', metricsFile(name)]);
    assert.equal(result.code, 0, result.out + result.err);
    return result;
  };

  test('the four times in order and the seconds in the LynqNode status, one observation per leg, none again on later runs', async () => {
    // The engine created the LynqNodes with no status: the first read-back starts and completes a record (Ready at once).
    await sync('first');
    assert.deepEqual(await leadTimeCounts(metricsFile('first'), 'shop'), { total: 2, commit: 2, apply: 2, ready: 2 });
    const before = leadTimeOf('globex');

    // The row changes: the sync commits it and reads back; the engine has not applied it.
    await world.db.exec("UPDATE customers SET plan = 'platinum' WHERE id = 'acme'");
    await sync('changed');
    const change = await world.head();
    const [authorTime, committerTime] = (await git(world.repo, ['log', '-1', '--format=%at %ct', change]))
      .trim()
      .split(' ')
      .map(Number) as [number, number];
    const started = leadTimeOf('acme')!;
    assert.equal(started.commit, change);
    assert.equal(
      started.seenAt,
      new Date(authorTime * 1000).toISOString(),
      'seen: the author time of the commit the sync wrote',
    );
    assert.equal(
      started.committedAt,
      new Date(committerTime * 1000).toISOString(),
      'committed: when it reached the branch',
    );
    assert.equal(started.appliedAt, undefined);
    assert.equal(started.readyAt, undefined);
    assert.equal(started.seconds, undefined);
    assert.deepEqual(await leadTimeCounts(metricsFile('changed'), 'shop'), NONE, 'nothing completed: no observation');
    assert.deepEqual(leadTimeOf('globex'), before, "another node's record is left as it was");

    // The engine applies the commit and is still rolling it out: applied, not Ready.
    const progressing = argoApp(node('acme'), HEALTHY, change);
    (progressing.status as { health: { status: string } }).health.status = 'Progressing';
    fake.put('Application', progressing);
    await sync('applied');
    const applied = leadTimeOf('acme')!;
    assert.equal(applied.commit, change);
    assert.ok(applied.appliedAt !== undefined && applied.readyAt === undefined, JSON.stringify(applied));
    assert.deepEqual(await leadTimeCounts(metricsFile('applied'), 'shop'), NONE);

    // Healthy at it: Ready. The record is complete and observed once per leg.
    fake.put('Application', argoApp(node('acme'), HEALTHY, change));
    await sync('ready');
    const ready = leadTimeOf('acme')!;
    assert.equal(ready.appliedAt, applied.appliedAt, 'applied stays when the first read-back saw it');
    const times = [ready.seenAt, ready.committedAt, ready.appliedAt!, ready.readyAt!].map((time) => Date.parse(time));
    assert.ok(
      times.every((time, index) => index === 0 || time >= times[index - 1]!),
      `in order: ${JSON.stringify(ready)}`,
    );
    assert.equal(ready.seconds, Math.round((times[3]! - times[0]!) / 1000));
    assert.deepEqual(await leadTimeCounts(metricsFile('ready'), 'shop'), { total: 1, commit: 1, apply: 1, ready: 1 });
    const family = parsePrometheusText(await readFile(metricsFile('ready'), 'utf8')).get(
      'lynq_node_lead_time_seconds',
    )!;
    const legs = leadTimeLegs(ready)!;
    for (const leg of ['total', 'commit', 'apply', 'ready'] as const) {
      const sum = family.samples.find(
        (sample) =>
          sample.name === 'lynq_node_lead_time_seconds_sum' &&
          sample.labels.leg === leg &&
          sample.labels.hub === 'shop',
      )!;
      assert.equal(sum.value, legs[leg], `the ${leg} leg observed as the status says`);
    }
    assert.equal(legs.total, legs.commit + legs.apply + legs.ready, 'the legs add up to the whole span');
    assert.ok(
      family.samples.every((sample) =>
        Object.keys(sample.labels).every((label) => ['hub', 'leg', 'le'].includes(label)),
      ),
      'no per-node label',
    );

    // The status is one the CRD accepts, and the CRD declares every field of it (an API server prunes undeclared ones).
    const crd = parse(await readFile('output-schema/lynqnode-crd.yaml', 'utf8')) as {
      spec: {
        versions: Array<{
          schema: {
            openAPIV3Schema: { properties: { status: { properties: Record<string, { properties?: object }> } } };
          };
        }>;
      };
    };
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    assert.ok(
      new Ajv({ strict: false }).compile(schema)(fake.get('LynqNode', node('acme').metadata.namespace, 'acme-web')),
    );
    assert.deepEqual(
      Object.keys(schema.properties.status.properties.leadTime!.properties!).sort(),
      Object.keys(ready).sort(),
    );

    // The status table has the seconds; lynq status --json shows the record.
    const client = new pg.Client({ ...POSTGRES, database: world.db.name });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT uid, lead_time_seconds FROM lynq_node_status WHERE hub = 'shop' ORDER BY uid",
      );
      assert.deepEqual(rows, [
        { uid: 'acme', lead_time_seconds: ready.seconds },
        { uid: 'globex', lead_time_seconds: leadTimeOf('globex')!.seconds },
      ]);
    } finally {
      await client.end();
    }
    const status = await world.status(['--kubeconfig', world.kubeconfigFile, '--json']);
    const acme = (JSON.parse(status.out) as Array<{ uid: string; leadTime: LeadTime | null }>).find(
      (item) => item.uid === 'acme',
    )!;
    assert.deepEqual(acme.leadTime, ready);

    // Nothing new: a later run (a new process, as every CronJob tick is) observes nothing and leaves the record.
    await sync('again');
    assert.deepEqual(await leadTimeCounts(metricsFile('again'), 'shop'), NONE);
    assert.deepEqual(leadTimeOf('acme'), ready);
    // Without the cache (lost, another pod): the record is in the cluster, so still nothing is observed twice.
    await rm(path.join(String(world.env.LYNQ_CACHE_DIR), 'health'), { recursive: true, force: true });
    await sync('no-cache');
    assert.deepEqual(await leadTimeCounts(metricsFile('no-cache'), 'shop'), NONE);
    assert.deepEqual(leadTimeOf('acme'), ready);
    fake.assertClean();
  });
});

describe('lead time rules (src/health/lead-time.ts)', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const commit = (sha: string, time: number, authorTime = time) => ({
    commit: sha,
    time,
    authorTime,
    pullRequest: undefined,
  });
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();

  test('a record starts when the status does not name the commit, stamps applied and Ready once, then stays', () => {
    const started = nextLeadTime(
      { commit: commit(B, 1000, 990), applied: false, phase: 'Progressing' },
      { git: { lastCommit: A } },
      at(1010),
    )!;
    assert.deepEqual(started, { commit: B, seenAt: at(990), committedAt: at(1000) });
    assert.equal(completesLeadTime(undefined, started), false);
    const applied = nextLeadTime(
      { commit: commit(B, 1000, 990), applied: true, phase: 'Progressing' },
      { git: { lastCommit: B }, leadTime: started },
      at(1060),
    )!;
    assert.equal(applied.appliedAt, at(1060));
    const ready = nextLeadTime(
      { commit: commit(B, 1000, 990), applied: true, phase: 'Ready' },
      { git: { lastCommit: B }, leadTime: applied },
      at(1200),
    )!;
    assert.deepEqual(ready, {
      commit: B,
      seenAt: at(990),
      committedAt: at(1000),
      appliedAt: at(1060),
      readyAt: at(1200),
      seconds: 210,
    });
    assert.equal(completesLeadTime(applied, ready), true);
    assert.deepEqual(leadTimeLegs(ready), { total: 210, commit: 10, apply: 60, ready: 140 });
    // Ready again later: the record is kept as it is, and completes nothing.
    const later = nextLeadTime(
      { commit: commit(B, 1000, 990), applied: true, phase: 'Ready' },
      { git: { lastCommit: B }, leadTime: ready },
      at(5000),
    );
    assert.deepEqual(later, ready);
    assert.equal(completesLeadTime(ready, later), false);
  });

  test('Ready at first sight stamps applied too; a status that names the commit without a record (written before lead times) starts none', () => {
    const fresh = nextLeadTime({ commit: commit(A, 1000), applied: true, phase: 'Ready' }, {}, at(1030))!;
    assert.equal(fresh.appliedAt, fresh.readyAt);
    assert.equal(fresh.seconds, 30);
    assert.equal(
      nextLeadTime({ commit: commit(A, 1000), applied: true, phase: 'Ready' }, { git: { lastCommit: A } }, at(1030)),
      undefined,
    );
    // A node Git has no commit for keeps what its status has.
    assert.deepEqual(
      nextLeadTime({ commit: undefined, applied: false, phase: 'Missing' }, { leadTime: fresh }, at(2000)),
      fresh,
    );
  });

  test('a pull request merged with a merge commit: the review wait is in the commit leg; a status that followed the merged commit keeps its record', () => {
    const M = 'c'.repeat(40);
    const merge = { commit: M, time: 5000, authorTime: 1000, pullRequest: 12, merged: B };
    const started = nextLeadTime(
      { commit: merge, applied: false, phase: 'Progressing' },
      { git: { lastCommit: A } },
      at(5010),
    )!;
    const ready = nextLeadTime(
      { commit: merge, applied: true, phase: 'Ready' },
      { git: { lastCommit: M }, leadTime: started },
      at(5100),
    )!;
    assert.deepEqual(leadTimeLegs(ready), { total: 4100, commit: 4000, apply: 100, ready: 0 });
    // Written when the read-back took B, the commit merged, for the node's last: the same change, not observed again.
    const before = {
      commit: B,
      seenAt: at(1000),
      committedAt: at(1000),
      appliedAt: at(5050),
      readyAt: at(5060),
      seconds: 4060,
    };
    const kept = nextLeadTime(
      { commit: merge, applied: true, phase: 'Ready' },
      { git: { lastCommit: B }, leadTime: before },
      at(6000),
    );
    assert.deepEqual(kept, before);
    assert.equal(completesLeadTime(before, kept), false);
    assert.deepEqual(
      nextLeadTime(
        { commit: merge, applied: true, phase: 'Ready' },
        { git: { lastCommit: M }, leadTime: before },
        at(7000),
      ),
      before,
    );
  });

  test('legs are never negative; a record that does not read as one counts as none', () => {
    const lead = {
      commit: A,
      seenAt: at(1000),
      committedAt: at(900),
      appliedAt: at(950),
      readyAt: at(1100),
      seconds: 100,
    };
    assert.deepEqual(leadTimeLegs(lead), { total: 100, commit: 0, apply: 50, ready: 150 });
    assert.equal(parseLeadTime({ commit: A, seenAt: 'yesterday', committedAt: at(1) }), undefined);
    assert.equal(parseLeadTime('x'), undefined);
  });

  test('the status keeps it last, so the status memo reads it without parsing the rest', () => {
    const status = nodeStatus(
      {
        hub: 'shop',
        form: 'web',
        uid: 'acme',
        name: 'acme-web',
        namespace: 'tenants',
        phase: 'Ready',
        applied: true,
        reason: 'Reconciled',
        message: 'applied and healthy',
        commit: commit(A, 1000),
        pullRequest: undefined,
        appliedRevision: A,
        resources: { desired: 1, ready: 1, failed: 0 },
        resourcePhases: [],
        engineObjects: [],
        formHash: null,
      },
      {},
      at(1042),
      undefined,
    );
    assert.equal(Object.keys(status).at(-1), 'leadTime');
    assert.deepEqual(leadTimeOfOwned(JSON.stringify(status)), status.leadTime);
    assert.equal(leadTimeOfOwned(JSON.stringify({ phase: 'Ready' })), undefined);
  });
});
