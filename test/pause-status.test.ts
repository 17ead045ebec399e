import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { healthyArgoWorld, type HealthWorld } from './helpers/health-world.ts';
import type { KubeFake } from './helpers/kube-fake.ts';

// A node its row pauses says so where people look: its LynqNode's Paused condition (with
// why), `lynq status` (a note, a count and the JSON field), and it stays so while a
// read-back that knows nothing of the rows runs; unpausing clears it.

const FORM = `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { PLAN: "{{ plan }}" }
`;

type Condition = { type: string; status: string; reason: string; message: string };
const pausedOf = (fake: KubeFake, name: string) =>
  ((fake.get('LynqNode', 'tenants', name)?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (condition) => condition.type === 'Paused',
  );

describe('a paused node in its LynqNode status and in lynq status', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  const kube = () => ['--kubeconfig', world.kubeconfigFile];
  const hubFile = () => path.join(world.dir, 'hubs', 'hub.yaml');

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(FORM, [
      ['acme', 'gold'],
      ['globex', 'silver'],
    ]));
    await world.db.exec(
      "ALTER TABLE customers ADD COLUMN frozen text; UPDATE customers SET frozen = 'yes' WHERE id = 'globex'",
    );
    const hub = await readFile(hubFile(), 'utf8');
    await writeFile(hubFile(), hub.replace('    activate: active\n', '    activate: active\n    paused: frozen\n'));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test("a sync writes Paused=True with why on the paused node's LynqNode, Paused=False on the others", async () => {
    const synced = await world.sync(kube());
    assert.equal(synced.code, 0, synced.out + synced.err);
    const paused = pausedOf(fake, 'globex-web');
    assert.equal(paused?.status, 'True');
    assert.equal(paused?.reason, 'PausedByRow');
    assert.match(paused?.message ?? '', /paused by column frozen/);
    assert.deepEqual(
      pausedOf(fake, 'acme-web') && [pausedOf(fake, 'acme-web')!.status, pausedOf(fake, 'acme-web')!.reason],
      ['False', 'NotPaused'],
    );
  });

  test('lynq status (a read-back of its own, rows unread) keeps the condition, notes the node and counts it; --json says why', async () => {
    const status = await world.status(kube());
    assert.equal(status.code, 0, status.out + status.err);
    assert.match(status.out, /^shop\/web\/globex: paused: paused by column frozen/m);
    assert.match(status.out, /^Ready 2, .*, paused 1$/m);
    assert.equal(pausedOf(fake, 'globex-web')?.status, 'True');
    const json = JSON.parse((await world.status([...kube(), '--json'])).out) as Array<{
      uid: string;
      paused: string | null;
    }>;
    assert.deepEqual(
      json.map((node) => [node.uid, node.paused === null ? null : /paused by column frozen/.test(node.paused)]),
      [
        ['acme', null],
        ['globex', true],
      ],
    );
  });

  test('unpausing the row clears it at the next sync; lynq status counts none', async () => {
    await world.db.exec("UPDATE customers SET frozen = 'no'");
    const synced = await world.sync(kube());
    assert.equal(synced.code, 0, synced.out + synced.err);
    assert.deepEqual(
      [pausedOf(fake, 'globex-web')?.status, pausedOf(fake, 'globex-web')?.reason],
      ['False', 'NotPaused'],
    );
    const status = await world.status(kube());
    assert.doesNotMatch(status.out, /paused/);
  });
});
