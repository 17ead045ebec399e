// @slow: about 16 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { formYaml } from './helpers/config.ts';
import { captureStream } from './helpers/files.ts';
import { changedNodes, git } from './helpers/git.ts';
import { makeHealthWorld, type HealthWorld } from './helpers/health-world.ts';

/*
 * A rollout step renders only the nodes it gives a slot: the plan tells a waiting node's
 * change from its LynqNode and leaves it unrendered. Proved two ways that fail if the plan
 * rendered every changed node again: the renders the sync logs, and a form change whose
 * template fails for some rows, which only the nodes actually rendered can report.
 */

// Even rows have a number as their plan, odd rows a word: version 2 of the form takes the plan as an integer.
const UIDS = Array.from({ length: 10 }, (_, i) => `t0${i}`);
const PLANS = UIDS.map((_, i) => (i % 2 === 0 ? String(i + 1) : 'gold'));
const form = (value: string) => `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "${value}" }
  rollout:
    maxSkew: 2
`;

describe('a rollout step renders only the slot’s worth of nodes (no cluster: maxSkew paces per sync)', () => {
  let world: HealthWorld;
  const writeForm = (value: string) =>
    writeFile(path.join(world.dir, 'forms', 'web.yaml'), formYaml(form(value), { hubId: 'shop' }));
  /** `lynq sync` as world.sync runs it, with its log kept: the nodes rendered, by the plan and by the rollout gate. */
  const sync = async (args: string[] = []) => {
    const out = captureStream();
    const err = captureStream();
    const log = captureStream();
    const code = await main(['sync', ...world.dirs, ...args], {
      out,
      err,
      log,
      env: { ...world.env, LYNQ_LOG_LEVEL: 'info' },
      isTty: false,
    });
    const lines = log
      .text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg?: string; rendered?: number });
    const rendered = lines
      .filter((line) => line.msg === 'compared with git' || line.msg === 'rollout gate')
      .reduce((sum, line) => sum + (line.rendered ?? 0), 0);
    return { code, out: out.text(), err: err.text(), rendered };
  };
  const changed = (from: string, to: string) => changedNodes(world.repo, from, to);

  before(async () => {
    world = await makeHealthWorld({
      hub: 'shop',
      gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: form('{{ plan }}'),
      rows: UIDS.map((uid, i) => [uid, PLANS[i]!]),
    });
  });
  after(async () => {
    await world?.cleanup();
  });

  test('new rows are not gated: all 10 rendered and added; a no-op renders none', async () => {
    const first = await sync();
    assert.equal(first.code, 0, first.out + first.err);
    assert.equal(first.rendered, 10);
    const noop = await sync();
    assert.equal(noop.code, 0, noop.out + noop.err);
    assert.match(noop.out, /no changes/);
    assert.equal(noop.rendered, 0);
  });

  test('a form change: only the nodes taking slots are rendered; one whose render fails gives its slot to the next; the rest wait unrendered, so they cannot fail', async () => {
    await writeForm('{{ plan | int }}');
    const dry = await sync(['--dry-run']);
    assert.equal(dry.code, 1, 'a failed node: exit 1');
    // t00 takes a slot; t01 fails to render and takes none; t02 takes the second; 3 renders.
    assert.equal(dry.rendered, 3, dry.out);
    assert.match(dry.out, /shop\/web\/t00: updated \(form web changed\)/);
    assert.match(dry.out, /shop\/web\/t01: failed: .*int: "gold" is not an integer/);
    assert.match(dry.out, /shop\/web\/t02: updated \(form web changed\)/);
    for (const uid of UIDS.slice(3))
      assert.match(
        dry.out,
        new RegExp(`shop/web/${uid}: waiting \\(form web changed; waiting for rollout slot, 0 of 9 done\\)`),
      );
    assert.match(
      dry.out,
      /shop\/web: rollout: 2 would change, 0 in flight, 7 waiting; waiting for rollout slot, 0 of 9 done; no cluster: maxSkew paces per sync/,
    );
    assert.match(dry.out, /shop\s+0\s+2\s+0\s+0\s+0\s+7\s+1\s+would commit/);

    const from = await world.head();
    const result = await sync();
    assert.equal(result.code, 1, result.out + result.err);
    assert.equal(result.rendered, 3);
    const to = await world.head();
    assert.deepEqual(await changed(from, to), ['t00', 't02']);
    assert.match(
      await git(world.repo, ['log', '-1', '--format=%B', 'main']),
      /Not in this commit: 1 failed, 7 waiting for rollout slot, 0 of 9 done \(form web\)/,
    );
  });

  test('the next sync: the 2 done are not rendered (sealed); it renders in order until 2 slots are taken', async () => {
    const from = await world.head();
    const result = await sync();
    assert.equal(result.code, 1, result.out + result.err);
    // t01 and t03 fail (no slot), t04 takes one, t05 fails, t06 takes the other: 5 renders.
    assert.equal(result.rendered, 5);
    assert.deepEqual(await changed(from, await world.head()), ['t04', 't06']);
    assert.match(
      result.out,
      /shop\/web: rollout: 2 changing, 0 in flight, 3 waiting; waiting for rollout slot, 2 of 7 done/,
    );
  });

  test('a row change on a paced form is rendered at once; a row change on a node the form change has not reached goes with it, through the gate', async () => {
    await world.db.exec(`UPDATE customers SET plan = '70' WHERE id = 't00'`);
    await world.db.exec(`UPDATE customers SET plan = '77' WHERE id = 't07'`);
    await world.db.exec(`UPDATE customers SET plan = '80' WHERE id = 't08'`);
    await writeFile(
      path.join(world.dir, 'forms', 'web.yaml'),
      formYaml(form('{{ plan | int }}').replace('maxSkew: 2', 'maxSkew: 1'), { hubId: 'shop' }),
    );
    const dry = await sync(['--dry-run']);
    assert.equal(dry.code, 1, dry.out + dry.err);
    assert.match(dry.out, /shop\/web\/t00: updated \(columns changed: plan\)/);
    // t01, t03 and t05 fail (no slot); t07, row and form, takes the one slot; t08 and t09 wait unrendered.
    assert.match(dry.out, /shop\/web\/t07: updated \(columns changed: plan; form web changed\)/);
    assert.match(
      dry.out,
      /shop\/web\/t08: waiting \(columns changed: plan; form web changed; waiting for rollout slot, 3 of 6 done\)/,
    );
    assert.match(dry.out, /shop\/web\/t09: waiting \(form web changed; waiting for rollout slot, 3 of 6 done\)/);
    assert.equal(dry.rendered, 5, 't00 by the plan, t01, t03, t05 and t07 by the gate');
    assert.match(
      dry.out,
      /shop\/web: rollout: 1 would change, 0 in flight, 2 waiting; waiting for rollout slot, 3 of 6 done/,
    );
  });
});
