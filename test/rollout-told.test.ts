import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { formYaml } from './helpers/config.ts';
import { captureStream } from './helpers/files.ts';
import { changedNodes, git } from './helpers/git.ts';
import { makeHealthWorld, type HealthWorld } from './helpers/health-world.ts';

/*
 * A rollout's waiting nodes are told once: what the plan told of a node from its LynqNode
 * is kept by the node's input hash and folder (the cache's verified/<hub>.told), and a
 * later step takes it from there without listing the node's folder or reading its
 * LynqNode; the nodes that get slots are read then. Losing the file changes nothing but
 * the time.
 */

const UIDS = Array.from({ length: 8 }, (_, i) => `t0${i}`);
const form = (version: string) => `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}", version: "${version}" }
  rollout:
    maxSkew: 2
`;

describe('a rollout step takes what an earlier step told of its waiting nodes from the cache', () => {
  let world: HealthWorld;
  const toldFile = () => path.join(world.env.LYNQ_CACHE_DIR!, 'verified', 'shop.told');
  /** `lynq sync`: how many changes its plan took from what an earlier sync told (its log). */
  const sync = async () => {
    const out = captureStream();
    const err = captureStream();
    const log = captureStream();
    const code = await main(['sync', ...world.dirs], {
      out,
      err,
      log,
      env: { ...world.env, LYNQ_LOG_LEVEL: 'info' },
      isTty: false,
    });
    assert.equal(code, 0, out.text() + err.text());
    const compared = log
      .text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg?: string; toldEarlier?: number })
      .find((line) => line.msg === 'compared with git');
    return { toldEarlier: compared?.toldEarlier };
  };
  /** The node folders at a commit, as one tree id (commit times aside, what a sync wrote). */
  const nodesTree = async (commit: string) => (await git(world.repo, ['rev-parse', `${commit}:nodes`])).trim();

  before(async () => {
    world = await makeHealthWorld({
      hub: 'shop',
      gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
      form: form('v1'),
      rows: UIDS.map((uid) => [uid, 'gold']),
    });
    assert.equal((await sync()).toldEarlier, 0);
    await writeFile(path.join(world.dir, 'forms', 'web.yaml'), formYaml(form('v2'), { hubId: 'shop' }));
  });
  after(async () => {
    await world?.cleanup();
  });

  test('the first step keeps what it told of the 8 changed nodes; the next takes the 6 left from there, and changes the next 2', async () => {
    const from = await world.head();
    assert.equal((await sync()).toldEarlier, 0);
    const step1 = await world.head();
    assert.deepEqual(await changedNodes(world.repo, from, step1), ['t00', 't01']);
    const lines = (await readFile(toldFile(), 'utf8')).split('\n').filter(Boolean);
    // All 8 were told by the plan; the 2 that took slots have new folders now, so their entries name nothing any more.
    assert.equal(lines.length, 8);
    for (const line of lines) assert.match(line, /^[0-9a-f]{64}\tform\t\["form web changed"\]$/);

    assert.equal((await sync()).toldEarlier, 6, 'neither listed nor read again');
    const step2 = await world.head();
    assert.deepEqual(await changedNodes(world.repo, step1, step2), ['t02', 't03']);
    assert.equal(
      (await readFile(toldFile(), 'utf8')).split('\n').filter(Boolean).length,
      6,
      'the entries of the nodes changed before are dropped',
    );
  });

  test('a lost told file gives the same step: the same nodes changed, the same files', async () => {
    const from = await world.head();
    assert.equal((await sync()).toldEarlier, 4);
    const withFile = await world.head();
    // The same step again, from the same commit, without the file.
    await git(world.repo, ['update-ref', 'refs/heads/main', from]);
    await rm(toldFile());
    assert.equal((await sync()).toldEarlier, 0);
    const without = await world.head();
    assert.notEqual(without, from);
    assert.deepEqual(await changedNodes(world.repo, from, without), await changedNodes(world.repo, from, withFile));
    assert.deepEqual(await changedNodes(world.repo, from, without), ['t04', 't05']);
    assert.equal(await nodesTree(without), await nodesTree(withFile));
  });

  test('a waiting node whose row changed is told afresh (its input differs): its new reason shows', async () => {
    await world.db.exec(`UPDATE customers SET plan = 'silver' WHERE id = 't07'`);
    const from = await world.head();
    // t06 taken from the file (its input the same), t07 told afresh from its LynqNode.
    assert.equal((await sync()).toldEarlier, 1);
    assert.deepEqual(await changedNodes(world.repo, from, await world.head()), ['t06', 't07']);
    assert.match(
      await git(world.repo, ['log', '-1', '--format=%B', 'main']),
      /t07[^\n]*columns changed: plan; form web changed/,
    );
  });
});
