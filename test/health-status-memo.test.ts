import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { loadConfig } from '../src/config/load.ts';
import { fileNodeMemo, type NodeMemo } from '../src/health/node-memo.ts';
import { readBackHub, type HubReadBack } from '../src/health/run.ts';
import { fileStatusMemo } from '../src/health/status-memo.ts';
import { openKubeClient, type KubeClient } from '../src/kube/client.ts';
import { LYNQ_NODE } from '../src/kube/resources.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { captureStream, tempFiles } from './helpers/files.ts';
import { argoApp, healthyArgoWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake, type Obj } from './helpers/kube-fake.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const METADATA_ONLY = 'as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** A read-back world whose status memo lives in its own folder (so a test can lose it). */
async function memoWorld(uids: readonly string[]) {
  const { world, fake } = await healthyArgoWorld(
    FORM,
    uids.map((uid) => [uid, 'gold']),
  );
  const kube = await openKubeClient(
    { source: 'flag', files: [world.kubeconfigFile], context: undefined },
    { registry: new SecretRegistry(), logger: silentLogger() },
  );
  const config = await loadConfig({ hubsDir: world.dirs[1]!, formsDir: world.dirs[3]! });
  const hub = config.hubs.get('shop')!;
  const deps = createSyncDeps({
    logger: silentLogger(),
    dryRun: false,
    diff: false,
    out: captureStream(),
    env: world.env,
  });
  const cacheDir = path.join(world.dir, 'memo');
  const memo = fileNodeMemo(cacheDir);
  const now = Date.parse('2026-12-01T03:00:00Z');
  const readBack = (options: { memo?: NodeMemo } = { memo }) =>
    readBackHub(hub, { kube, openRepo: deps.openRepo, clock: () => now, logger: silentLogger(), memo: options.memo });
  /** The LynqNode requests made by `run`: LISTs by what they accepted, GETs and PATCHes by name. */
  const requests = async (run: () => Promise<HubReadBack>) => {
    const from = fake.requests.length;
    const result = await run();
    assert.equal(result.outcome, 'read', JSON.stringify(result));
    const made = fake.requests.slice(from).filter((request) => request.path.includes('/lynqnodes'));
    return {
      result: result as Extract<HubReadBack, { outcome: 'read' }>,
      lists: made
        .filter((request) => request.method === 'GET' && request.path.endsWith('/lynqnodes'))
        .map((request) => (request.accept?.includes(METADATA_ONLY) ? 'metadata' : 'whole')),
      gets: made
        .filter((request) => request.method === 'GET' && !request.path.endsWith('/lynqnodes'))
        .map((request) => request.path.split('/').pop()),
      patches: made
        .filter((request) => request.method === 'PATCH')
        .map((request) => ({
          name: request.path.split('/').at(-2),
          body: request.body as { metadata?: { resourceVersion?: string } },
        })),
    };
  };
  const statuses = () =>
    Object.fromEntries(uids.map((uid) => [uid, fake.get('LynqNode', 'tenants', `${uid}-web`)?.status]));
  const memoFile = path.join(cacheDir, 'health', 'shop.statuses');
  const close = async () => {
    await fake.close();
    await world.cleanup();
  };
  return { world, fake, kube, hub, memo, memoFile, readBack, requests, statuses, close };
}

/**
 * A LynqNode's status is judged by what the bridge last saw or wrote of it at that uid and
 * resourceVersion (the status memo), so the LynqNodes are listed metadata only; a status
 * another writer moved is read whole; losing the memo costs only the whole LIST.
 */
describe('the read-back judges LynqNode statuses by the status memo', () => {
  const UIDS = ['m00', 'm01', 'm02', 'm03'];
  let w: Awaited<ReturnType<typeof memoWorld>>;

  before(async () => {
    w = await memoWorld(UIDS);
  });
  after(() => w?.close());

  test('the first read-back lists LynqNodes whole and keeps what it wrote; the next lists them metadata only and writes nothing', async () => {
    const first = await w.requests(() => w.readBack());
    assert.deepEqual(first.lists, ['whole']);
    assert.equal(first.result.statuses.patched, UIDS.length);
    const kept = await fileStatusMemo(path.join(w.world.dir, 'memo')).load('shop', w.kube.server);
    assert.deepEqual(
      [...kept.keys()].sort(),
      UIDS.map((uid) => `tenants/${uid}-web`),
    );
    for (const uid of UIDS) {
      const stored = w.fake.get('LynqNode', 'tenants', `${uid}-web`)!;
      assert.equal(
        kept.get(`tenants/${uid}-web`)?.resourceVersion,
        stored.metadata.resourceVersion,
        'the resourceVersion the PATCH returned',
      );
      assert.equal(kept.get(`tenants/${uid}-web`)?.uid, stored.metadata.uid);
    }

    const written = w.statuses();
    const second = await w.requests(() => w.readBack());
    assert.deepEqual(second.lists, ['metadata']);
    assert.deepEqual(second.gets, []);
    assert.deepEqual(second.patches, []);
    assert.equal(second.result.statuses.unchanged, UIDS.length);
    assert.deepEqual(w.statuses(), written);
    w.fake.assertClean();
  });

  test('another writer changed a status: that LynqNode alone is read (a GET) and its status written back, as without the memo', async () => {
    await w.readBack();
    const other = structuredClone(w.fake.get('LynqNode', 'tenants', 'm01-web')!);
    other.status = { ...(other.status as Record<string, unknown>), phase: 'Degraded' };
    w.fake.put('LynqNode', other);
    const written = await w.requests(() => w.readBack());
    assert.deepEqual(written.lists, ['metadata']);
    assert.deepEqual(written.gets, ['m01-web']);
    assert.deepEqual(
      written.patches.map((patch) => patch.name),
      ['m01-web'],
    );
    assert.equal((w.fake.get('LynqNode', 'tenants', 'm01-web')!.status as { phase: string }).phase, 'Ready');
    // Without the memo, the same cluster has nothing left to write.
    const plain = await w.requests(() => w.readBack({ memo: undefined }));
    assert.deepEqual(plain.lists, ['whole']);
    assert.deepEqual(plain.patches, []);
  });

  test('a LynqNode deleted and created again (a new uid) with the same status: read, not written', async () => {
    await w.readBack();
    const old = structuredClone(w.fake.get('LynqNode', 'tenants', 'm02-web')!);
    w.fake.remove('LynqNode', 'tenants', 'm02-web');
    delete old.metadata.uid;
    w.fake.put('LynqNode', old);
    const result = await w.requests(() => w.readBack());
    assert.deepEqual(result.gets, ['m02-web']);
    assert.deepEqual(result.patches, []);
    const kept = await fileStatusMemo(path.join(w.world.dir, 'memo')).load('shop', w.kube.server);
    assert.equal(
      kept.get('tenants/m02-web')?.uid,
      w.fake.get('LynqNode', 'tenants', 'm02-web')!.metadata.uid,
      'the fact of the new object is kept',
    );

    // A fact at the same resourceVersion of another object (a cluster made anew at the same address) is no fact of this one.
    const facts = await fileStatusMemo(path.join(w.world.dir, 'memo')).load('shop', w.kube.server);
    facts.set('tenants/m02-web', { ...facts.get('tenants/m02-web')!, uid: '00000000-0000-0000-0000-000000000000' });
    await fileStatusMemo(path.join(w.world.dir, 'memo')).save('shop', w.kube.server, facts);
    assert.deepEqual((await w.requests(() => w.readBack())).gets, ['m02-web']);
  });

  test('a status the memo knows at that resourceVersion changes: written from the kept copy without reading it, the same status a whole read writes', async () => {
    await w.readBack();
    const head = await w.world.head();
    const nodes = await w.world.lynqNodes();
    const m03 = nodes.find((node) => node.metadata.name === 'm03-web')!;
    const before = structuredClone(w.fake.get('LynqNode', 'tenants', 'm03-web')!);
    w.fake.put('Application', argoApp(m03, 'application-degraded-synced.yaml', head));

    const viaMemo = await w.requests(() => w.readBack());
    assert.deepEqual(viaMemo.lists, ['metadata']);
    assert.deepEqual(viaMemo.gets, [], 'the kept status stands for the listed one');
    assert.deepEqual(
      viaMemo.patches.map((patch) => [patch.name, patch.body.metadata?.resourceVersion]),
      [['m03-web', before.metadata.resourceVersion]],
    );
    const fromMemo = w.fake.get('LynqNode', 'tenants', 'm03-web')!.status as {
      phase: string;
      conditions: Array<{ type: string; lastTransitionTime: string }>;
    };
    assert.equal(fromMemo.phase, 'Degraded');
    const conflictedBefore = (before.status as typeof fromMemo).conditions.find(
      (condition) => condition.type === 'Conflicted',
    );
    assert.equal(
      fromMemo.conditions.find((condition) => condition.type === 'Conflicted')?.lastTransitionTime,
      conflictedBefore?.lastTransitionTime,
      'a condition that stayed keeps its time',
    );

    // The same change judged from a whole read, without the memo: the same status.
    w.fake.put('LynqNode', before);
    await rm(w.memoFile);
    const viaList = await w.requests(() => w.readBack({ memo: undefined }));
    assert.deepEqual(viaList.lists, ['whole']);
    assert.deepEqual(w.fake.get('LynqNode', 'tenants', 'm03-web')!.status, fromMemo);
    w.fake.put('Application', argoApp(m03, 'application-healthy-synced-op-succeeded.yaml', head));
  });

  test('a lost or torn memo gives the same result: the LynqNodes listed whole, nothing written that was not; the memo is then kept again', async () => {
    await w.readBack();
    const written = w.statuses();
    await rm(w.memoFile);
    const lost = await w.requests(() => w.readBack());
    assert.deepEqual(lost.lists, ['whole']);
    assert.deepEqual(lost.patches, []);
    assert.deepEqual(w.statuses(), written);
    assert.deepEqual((await w.requests(() => w.readBack())).lists, ['metadata'], 'kept again from the whole read');

    const text = await readFile(w.memoFile, 'utf8');
    await writeFile(w.memoFile, text.slice(0, Math.floor(text.length / 2)));
    const torn = await w.requests(() => w.readBack());
    assert.deepEqual(torn.patches, []);
    assert.deepEqual(w.statuses(), written);
    w.fake.assertClean();
  });
});

describe('the status memo file', () => {
  test('keeps facts per API server, and drops torn lines', async () => {
    const files = await tempFiles({});
    try {
      const memo = fileStatusMemo(files.dir);
      const fact = { uid: 'u-1', resourceVersion: '17', verdict: 'abc', fromSync: '', owned: '{"phase":"Ready"}' };
      await memo.save('shop', 'https://a.example:6443', new Map([['tenants/x-web', fact]]));
      assert.deepEqual([...(await memo.load('shop', 'https://a.example:6443'))], [['tenants/x-web', fact]]);
      assert.equal(
        (await memo.load('shop', 'https://b.example:6443')).size,
        0,
        "another server's facts say nothing of its objects",
      );
      assert.equal((await memo.load('other', 'https://a.example:6443')).size, 0);
      const file = path.join(files.dir, 'health', 'shop.statuses');
      await writeFile(file, `${await readFile(file, 'utf8')}tenants/y-web\tu-2\t18\tdef\t\t{"phase":"Re`);
      assert.deepEqual([...(await memo.load('shop', 'https://a.example:6443')).keys()], ['tenants/x-web']);
    } finally {
      await files.cleanup();
    }
  });
});

describe('many LynqNodes another writer moved', () => {
  const UIDS = Array.from({ length: 60 }, (_, index) => `s${String(index).padStart(2, '0')}`);
  let w: Awaited<ReturnType<typeof memoWorld>>;
  before(async () => {
    w = await memoWorld(UIDS);
  });
  after(() => w?.close());

  test('are read with one LIST of their namespace, not a GET each', async () => {
    await w.readBack();
    // Another writer touches every LynqNode (a label, say): new resourceVersions, the same statuses.
    for (const uid of UIDS) w.fake.put('LynqNode', structuredClone(w.fake.get('LynqNode', 'tenants', `${uid}-web`)!));
    const result = await w.requests(() => w.readBack());
    assert.deepEqual(result.lists, ['metadata', 'whole']);
    assert.deepEqual(result.gets, []);
    assert.deepEqual(result.patches, []);
    assert.deepEqual((await w.requests(() => w.readBack())).lists, ['metadata'], 'the new resourceVersions kept');
  });
});

describe('the fake answers a metadata-only LIST as the API does', () => {
  let fake: KubeFake;
  let kube: KubeClient;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  before(async () => {
    fake = await startKubeFake();
    files = await tempFiles({ kubeconfig: fake.kubeconfig() });
    kube = await openKubeClient(
      { source: 'flag', files: [path.join(files.dir, 'kubeconfig')], context: undefined },
      { registry: new SecretRegistry(), logger: silentLogger() },
    );
  });
  after(async () => {
    await fake?.close();
    await files?.cleanup();
  });

  test('a PartialObjectMetadataList of PartialObjectMetadata items: the metadata, its uid and resourceVersion, no spec or status', async () => {
    const object: Obj = {
      apiVersion: 'operator.lynq.sh/v1',
      kind: 'LynqNode',
      metadata: { name: 'a-web', namespace: 'tenants', labels: { 'lynq.sh/hub': 'shop' }, annotations: { note: 'x' } },
      spec: { uid: 'a' },
      status: { phase: 'Ready' },
    };
    fake.put('LynqNode', object);
    const items = await kube.listMetadata(LYNQ_NODE, 'tenants', 'lynq.sh/hub=shop', (item) => item);
    const stored = fake.get('LynqNode', 'tenants', 'a-web')!;
    assert.deepEqual(items, [
      { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: stored.metadata },
    ]);
    assert.match(stored.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(kube.requests.list, 1);
    const whole = await kube.list(LYNQ_NODE, 'tenants', 'lynq.sh/hub=shop');
    assert.deepEqual(whole, [stored]);
    fake.assertClean();
  });

  test('any other `as=` is refused with 406, and the test is failed', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = https.request(
        `${fake.url}/apis/operator.lynq.sh/v1/namespaces/tenants/lynqnodes`,
        {
          ca: fake.caPem,
          headers: { authorization: `Bearer ${fake.token}`, accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end();
    });
    assert.equal(answer.status, 406);
    assert.equal((JSON.parse(answer.body) as { reason: string }).reason, 'NotAcceptable');
    assert.throws(() => fake.assertClean(), /unexpected Accept/);
  });
});
