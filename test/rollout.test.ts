// @slow: about 40 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formYaml } from './helpers/config.ts';
import { changedNodes, git } from './helpers/git.ts';
import { argoApp, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { lynq } from './helpers/cli.ts';
import { startKubeFake, type KubeFake, type Obj } from './helpers/kube-fake.ts';
import { parsePrometheusText } from './helpers/serve.ts';
import { sampleValue } from './helpers/serve-world.ts';

const form = (image: string, rollout: string) => `  deployments:
    - id: app
      nameTemplate: "{{ uid }}-app"
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              containers: [{ name: app, image: "nginx:${image}", env: [{ name: PLAN, value: "{{ plan }}" }] }]
  rollout:
${rollout}`;

const UIDS = Array.from({ length: 10 }, (_, i) => `t0${i}`);
const HEALTHY = 'application-healthy-synced-op-succeeded.yaml';

describe('health-gated rollout: 10 nodes, maxSkew 2, against the local Kubernetes API, PostgreSQL and a bare repository', () => {
  let world: HealthWorld;
  let fake: KubeFake;
  const heads: string[] = [];
  let nodes: Obj[] = [];
  const node = (uid: string) => nodes.find((item) => item.metadata.name === `${uid}-web`)!;
  const writeForm = (image: string, rollout: string) =>
    writeFile(path.join(world.dir, 'forms', 'web.yaml'), formYaml(form(image, rollout), { hubId: 'shop' }));
  const kube = () => ['--kubeconfig', world.kubeconfigFile];
  /** Node folders changed between two commits. */
  const changed = (from: string, to: string) => changedNodes(world.repo, from, to);
  const rollout = (args: string[]) => lynq(['rollout', ...args, ...world.dirs], world.env);
  /** The engine applied `revision` for these nodes and they are healthy (or `file`'s status). */
  const applied = async (
    uids: readonly string[],
    revision: string,
    file = HEALTHY,
    resourceHealth?: Record<string, string>,
  ) => {
    nodes = await world.lynqNodes();
    for (const uid of uids)
      fake.put(
        'Application',
        argoApp(node(uid), file, revision, resourceHealth === undefined ? {} : { resourceHealth }),
      );
  };

  const metricsFile = () => path.join(world.dir, 'lynq.prom');
  /** The rollout series of shop/web in the textfile the last sync wrote. */
  const rolloutSeries = async () => {
    const families = parsePrometheusText(await readFile(metricsFile(), 'utf8'));
    const nodes = (state: string) => sampleValue(families, 'lynq_rollout_nodes', { hub: 'shop', form: 'web', state });
    return {
      halted: sampleValue(families, 'lynq_rollout_halted', { hub: 'shop', form: 'web' }),
      done: nodes('done'),
      in_progress: nodes('in_progress'),
      waiting: nodes('waiting'),
      failed: nodes('failed'),
    };
  };

  before(async () => {
    world = await makeHealthWorld({
      hub: 'shop',
      gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: form('1.25', '    maxSkew: 5\n'),
      rows: UIDS.map((uid, i) => [uid, i % 2 === 0 ? 'gold' : 'silver']),
    });
    // First sync, no cluster: new rows are not gated by default, all ten go out at once.
    const first = await world.sync();
    assert.equal(first.code, 0, first.out + first.err);
    heads.push(await world.head());
    fake = await startKubeFake();
    await world.writeKubeconfig(fake.kubeconfig());
    nodes = await world.lynqNodes();
    assert.equal(nodes.length, 10);
    putLynqNodes(fake, nodes);
    await applied(UIDS, heads[0]!);
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('changing the pace (maxSkew) rewrites no node', async () => {
    await writeForm('1.25', '    maxSkew: 2\n');
    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /no changes/);
    assert.equal(await world.head(), heads[0]);
  });

  test('a form change: the dry run names the 2 that would change; the sync changes 2 in Git, 8 wait with "waiting for rollout slot, 0 of 10 done"', async () => {
    await writeForm('1.27', '    maxSkew: 2\n');
    const dry = await world.sync([...kube(), '--dry-run']);
    assert.equal(dry.code, 0, dry.out + dry.err);
    assert.match(dry.out, /shop\/web\/t00: updated/);
    assert.match(dry.out, /shop\/web\/t01: updated/);
    assert.match(dry.out, /shop\/web\/t02: waiting \(form web changed; waiting for rollout slot, 0 of 10 done\)/);
    assert.match(
      dry.out,
      /shop\/web: rollout: 2 would change, 0 in flight, 8 waiting; waiting for rollout slot, 0 of 10 done/,
    );
    assert.equal(await world.head(), heads[0], 'a dry run commits nothing');

    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /hub\s+added\s+updated\s+unchanged\s+removed\s+held\s+waiting\s+failed/);
    assert.match(result.out, /shop\s+0\s+2\s+0\s+0\s+0\s+8\s+0/);
    heads.push(await world.head());
    assert.deepEqual(await changed(heads[0]!, heads[1]!), ['t00', 't01']);
    const message = await git(world.repo, ['log', '-1', '--format=%B', 'main']);
    assert.match(message, /^lynq\(shop\): 2 updated$/m);
    assert.match(message, /Not in this commit: 8 waiting for rollout slot, 0 of 10 done \(form web\)/);
  });

  test('while the 2 are not applied, a sync (a new process: state from Git and the cluster) takes no slot; lynq rollout status says so', async () => {
    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    assert.equal(await world.head(), heads[1]);
    assert.match(result.out, /shop\/web: rollout: 0 changing, 2 in flight, 8 waiting/);
    const status = await rollout(['status', ...kube()]);
    assert.equal(status.code, 0, status.out + status.err);
    assert.match(status.out, /^shop\/web {2}done 0 of 10, in flight 2, waiting 8, failed 0$/m);
    const json = JSON.parse((await rollout(['status', ...kube(), '--json'])).out) as Array<Record<string, unknown>>;
    assert.deepEqual(
      json.map((item) => [item.hub, item.form, item.done, item.inFlight, item.waiting, item.failed, item.halted]),
      [['shop', 'web', 0, 2, 8, [], false]],
    );
  });

  test('the 2 turn Ready: the next sync takes the next 2', async () => {
    await applied(['t00', 't01'], heads[1]!);
    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    heads.push(await world.head());
    assert.deepEqual(await changed(heads[1]!, heads[2]!), ['t02', 't03']);
    assert.match(
      await git(world.repo, ['log', '-1', '--format=%B', 'main']),
      /6 waiting for rollout slot, 2 of 10 done \(form web\)/,
    );
  });

  test('one turns Degraded: the rollout halts (no commit, exit 1, form and node named); lynq rollout status exits 1', async () => {
    await applied(['t03'], heads[2]!);
    await applied(['t02'], heads[2]!, 'application-degraded-synced.yaml', { app: 'Degraded' });
    const result = await world.sync([...kube(), '--metrics-file', metricsFile()]);
    assert.equal(result.code, 1, result.out + result.err);
    assert.equal(await world.head(), heads[2]);
    // What an alert on a halted rollout reads: the form halted, its nodes by state.
    const halted = await rolloutSeries();
    assert.deepEqual(halted, { halted: 1, done: 3, in_progress: 0, waiting: 6, failed: 1 });
    assert.match(
      result.out,
      /shop\/web: rollout: 0 changing, 0 in flight, 6 waiting; waiting for rollout slot, 3 of 10 done; rollout halted: t02 failed/,
    );
    const status = await rollout(['status', ...kube()]);
    assert.equal(status.code, 1);
    assert.match(status.out, /^shop\/web {2}done 3 of 10, in flight 0, waiting 6, failed 1 \(t02\) {2}HALTED$/m);
    assert.match(status.out, /shop\/web: rollout halted by t02: fix the form, or run lynq rollout resume shop\/web/);
  });

  test('lynq rollout resume marks the failed LynqNode; the next sync continues (a new process finds the marker in the cluster)', async () => {
    const bad = await rollout(['resume', 'shop', ...kube()]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /rollout resume takes <hub>\/<form>, not "shop"/);
    // The cluster refusing the mark is the cluster failing: exit 3, as everywhere.
    fake.failNext('PATCH', '/t02-web', 404);
    const refused = await rollout(['resume', 'shop/web', ...kube()]);
    assert.equal(refused.code, 3, refused.out + refused.err);
    assert.match(refused.err, /the LynqNodes of t02 could not be marked resumed/);
    const resumed = await rollout(['resume', 'shop/web', ...kube()]);
    assert.equal(resumed.code, 0, resumed.out + resumed.err);
    assert.match(resumed.out, /shop\/web: rollout resumed; failures of t02 accepted at sha256:/);
    const marker = fake.get('LynqNode', 'tenants', 't02-web')!.metadata.annotations?.['lynq.sh/rollout-resumed'];
    assert.match(marker ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(
      fake.get('LynqNode', 'tenants', 't03-web')!.metadata.annotations?.['lynq.sh/rollout-resumed'],
      undefined,
    );
    const result = await world.sync([...kube(), '--metrics-file', metricsFile()]);
    assert.equal(result.code, 0, result.out + result.err);
    heads.push(await world.head());
    assert.deepEqual(await changed(heads[2]!, heads[3]!), ['t04', 't05']);
    assert.deepEqual(await rolloutSeries(), { halted: 0, done: 3, in_progress: 2, waiting: 4, failed: 0 });
    const again = await rollout(['resume', 'shop/web', ...kube()]);
    assert.match(again.out, /the rollout is not halted; nothing to resume/);
  });

  test('no cluster configured: maxSkew paces per sync (2 more per sync, whatever their health)', async () => {
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /no cluster: maxSkew paces per sync/);
    heads.push(await world.head());
    assert.deepEqual(await changed(heads[3]!, heads[4]!), ['t06', 't07']);
    const status = await rollout(['status', '--kubeconfig', path.join(world.dir, 'nope')]);
    assert.equal(status.code, 2);
    assert.match(status.out, /shop: config-failed: .*cannot read kubeconfig .*nope/);
  });

  test('a form change after a halt lifts it: the failed node is off the current version and waits like the rest', async () => {
    await applied(UIDS, heads[4]!);
    await applied(['t06'], heads[4]!, 'application-degraded-synced.yaml', { app: 'Degraded' });
    const halted = await world.sync(kube());
    assert.equal(halted.code, 1);
    assert.match(halted.out, /rollout halted: t06 failed/);
    await writeForm('1.28', '    maxSkew: 2\n');
    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    heads.push(await world.head());
    assert.deepEqual(await changed(heads[4]!, heads[5]!), ['t00', 't01']);
    fake.assertClean();
  });

  test('lynq validate: a note when maxSkew paces per sync (no cluster), none with one; an orderBy the hub does not map is exit 2', async () => {
    const validate = (env: NodeJS.ProcessEnv = {}) => lynq(['validate', ...world.dirs], { ...world.env, ...env });
    const alone = await validate();
    assert.equal(alone.code, 0, alone.err);
    assert.match(
      alone.out,
      /^note: hub shop, form web: spec\.rollout\.maxSkew 2 paces per sync: no cluster is configured here .*, so each sync changes at most 2 of its nodes, whatever their health$/m,
    );
    const withCluster = await validate({ KUBECONFIG: world.kubeconfigFile });
    assert.equal(withCluster.code, 0, withCluster.err);
    assert.doesNotMatch(withCluster.out, /paces per sync/);
    await writeForm('1.28', '    maxSkew: 2\n    orderBy: region\n');
    const bad = await validate();
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /forms\/web\.yaml, hub shop, form web, field spec\.rollout\.orderBy: spec\.rollout\.orderBy names "region", which hub shop does not map \(it maps uid, activate, plan\)/,
    );
    const before = await world.head();
    const sync = await world.sync(kube());
    assert.equal(sync.code, 2, sync.out + sync.err);
    assert.equal(await world.head(), before, 'a config error publishes nothing');
    await writeForm('1.28', '    maxSkew: 2\n    orderBy: plan\n    canary: [t09]\n');
  });

  test('canary first, then by the orderBy column (gold before silver), not by uid; the pace change itself rewrote nothing', async () => {
    const before = await world.head();
    assert.equal(before, heads[5]);
    await applied(UIDS, before);
    const result = await world.sync(kube());
    assert.equal(result.code, 0, result.out + result.err);
    const head = await world.head();
    // t09 (silver) is the canary; then t02, the first gold node by uid (t03 would be next by uid alone).
    assert.deepEqual(await changed(before, head), ['t02', 't09']);
    assert.match(
      await git(world.repo, ['log', '-1', '--format=%B', 'main']),
      /6 waiting for rollout slot, 2 of 10 done \(form web\)/,
    );
    fake.assertClean();
  });

  test('a configured cluster that cannot be read: the hub publishes nothing (exit 3) rather than roll out blind', async () => {
    const before = await world.head();
    await applied(UIDS, before);
    fake.failNext('GET', '/namespaces/argocd/applications', 500);
    const result = await world.sync(kube());
    assert.equal(result.code, 3, result.out + result.err);
    assert.match(result.out, /shop: cluster-failed: .*the API answered 500/);
    assert.equal(await world.head(), before);
    fake.assertClean();
  });
});
