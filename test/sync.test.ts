// @slow: about 17 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { loadConfig } from '../src/config/load.ts';
import type { ManifestsRepo } from '../src/git/manifests-repo.ts';
import { silentLogger } from '../src/logger.ts';
import { gitBlobId } from '../src/render/hash.ts';
import { syncHub, type SyncDeps } from '../src/sync/sync-hub.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { closedPort, createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import {
  cloneWorkTree,
  commitCount,
  commitFiles,
  git,
  logMessages,
  makeBareRepo,
  readTree,
  revParse,
} from './helpers/git.ts';

const run = promisify(execFile);

const hubFile = (database: string, options: { port?: number; guard?: number } = {}) =>
  hubYaml({
    database,
    port: options.port ?? 5432,
    connectTimeoutSeconds: 3,
    extra: { plan: 'plan', replicas: 'replicas' },
    spec: `  deletionGuard:\n    maxDeletePercent: ${options.guard ?? 50}\n`,
  });

const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
  deployments:
    - id: app
      dependIds: [settings]
      nameTemplate: "{{ uid }}-app"
      spec:
        apiVersion: apps/v1
        kind: Deployment
        spec:
          replicas: "{{ replicas | int }}"
          selector:
            matchLabels:
              app: "{{ uid }}"
          template:
            metadata:
              labels:
                app: "{{ uid }}"
            spec:
              containers:
                - name: app
                  image: nginx
`);

describe('lynq sync (push mode) against PostgreSQL and a bare repository', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let env: NodeJS.ProcessEnv;
  const sync = (...extra: string[]) =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir, ...extra], env);

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id text, active boolean, plan text, replicas text);
      INSERT INTO customers VALUES ('acme', true, 'gold', '3'), ('globex', true, 'silver', '2'), ('initech', true, 'bronze', '1'), ('hooli', false, 'gold', '1');`);
    remote = await makeBareRepo();
    files = await tempFiles({ 'hubs/customers.yaml': hubFile(db.name), 'forms/web.yaml': FORM });
    env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  });
  afterEach(async () => {
    await remote.cleanup();
    await files.cleanup();
  });

  const nodeFiles = async (uid: string) => {
    const tree = await readTree(remote.dir, 'main');
    return new Map([...tree].filter(([file]) => file.startsWith(`nodes/customers/web/${uid}/`)));
  };

  test('first sync commits every active node; a second sync makes no commit', async () => {
    const first = await sync();
    assert.equal(first.code, 0, first.err + first.out);
    assert.match(first.out, /customers\s+3\s+0\s+0\s+0\s+0\s+0\s+[0-9a-f]{12}/);
    const tree = await readTree(remote.dir, 'main');
    assert.deepEqual(
      [...tree.keys()].filter((file) => file.includes('/acme/')).sort(),
      ['app.yaml', 'kustomization.yaml', 'lynqnode.yaml', 'settings.yaml'].map(
        (name) => `nodes/customers/web/acme/${name}`,
      ),
    );
    assert.ok(![...tree.keys()].some((file) => file.includes('hooli')), 'inactive rows get no node');
    const [message] = await logMessages(remote.dir, 'main');
    assert.equal(
      message,
      [
        'lynq(customers): 3 added',
        '',
        'web/acme: added (new row) [settings, app]',
        'web/globex: added (new row) [settings, app]',
        'web/initech: added (new row) [settings, app]',
        '',
        'Lynq-Hub: customers',
        'Lynq-Node: web/acme added',
        'Lynq-Node: web/globex added',
        'Lynq-Node: web/initech added',
      ].join('\n'),
    );

    const again = await sync();
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /customers\s+0\s+0\s+3\s+0\s+0\s+0\s+no changes/);
    assert.equal(await commitCount(remote.dir, 'main'), 1);
  });

  test('a one-row change is one commit that touches only that node, saying which column', async () => {
    await sync();
    const before = await revParse(remote.dir, 'main');
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'globex'`);
    const result = await sync();
    assert.equal(result.code, 0, result.err);
    assert.equal(await commitCount(remote.dir, 'main'), 2);
    const changed = (await git(remote.dir, ['diff', '--name-only', `${before}`, 'main'])).trim().split('\n');
    assert.deepEqual(changed, ['nodes/customers/web/globex/lynqnode.yaml', 'nodes/customers/web/globex/settings.yaml']);
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(
      message!,
      /^lynq\(customers\): 1 updated\n\nweb\/globex: updated \(columns changed: plan\) \[settings\]\n/,
    );
  });

  test('a form change updates every node, saying the form changed', async () => {
    await sync();
    await rewrite(files.dir, 'forms/web.yaml', FORM.replace('PLAN: "{{ plan }}"', 'PLAN: "{{ plan | upper }}"'));
    const result = await sync();
    assert.equal(result.code, 0);
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(message!, /^lynq\(customers\): 3 updated\n\nweb\/acme: updated \(form web changed\) \[settings\]/);
  });

  test('deactivated and deleted rows are removed, with the reason', async () => {
    await sync();
    await db.exec(`UPDATE customers SET active = false WHERE id = 'acme'`);
    let result = await sync();
    assert.equal(result.code, 0, result.out);
    assert.equal((await nodeFiles('acme')).size, 0);
    assert.match((await logMessages(remote.dir, 'main'))[0]!, /web\/acme: removed \(row deactivated\)/);
    await db.exec(`DELETE FROM customers WHERE id = 'globex'`);
    result = await sync();
    assert.equal(result.code, 0);
    assert.match((await logMessages(remote.dir, 'main'))[0]!, /web\/globex: removed \(row deleted\)/);
    assert.equal((await nodeFiles('initech')).size, 4);
  });

  test('the deletion guard holds back mass removals (exit 1) until --allow-deletions', async () => {
    await sync();
    await db.exec(`UPDATE customers SET active = false WHERE id IN ('acme', 'globex')`);
    const held = await sync();
    assert.equal(held.code, 1);
    assert.match(
      held.out,
      /customers\/web\/acme: held \(row deactivated; held back by the deletion guard: 2 of 3 nodes would be removed \(limit 50%\)/,
    );
    assert.equal((await nodeFiles('acme')).size, 4, 'held nodes stay in Git');
    assert.equal(await commitCount(remote.dir, 'main'), 1);
    const allowed = await sync('--allow-deletions');
    assert.equal(allowed.code, 0, allowed.out);
    assert.equal((await nodeFiles('acme')).size, 0);
  });

  test('a query that returns no rows never empties the hub, whatever the guard says', async () => {
    await rewrite(files.dir, 'hubs/customers.yaml', hubFile(db.name, { guard: 100 }));
    await sync();
    await db.exec('DELETE FROM customers');
    const result = await sync();
    assert.equal(result.code, 1);
    assert.match(result.out, /3 of 3 nodes would be removed/);
    assert.equal((await readTree(remote.dir, 'main')).size, 12);
  });

  test('an unreachable database changes nothing in Git (exit 3)', async () => {
    await sync();
    const head = await revParse(remote.dir, 'main');
    await rewrite(files.dir, 'hubs/customers.yaml', hubFile(db.name, { port: await closedPort() }));
    const result = await sync();
    assert.equal(result.code, 3);
    assert.match(result.out, /customers: source-failed: .*cannot connect/);
    assert.equal(await revParse(remote.dir, 'main'), head);
  });

  test('a node that fails keeps what Git has; the others are published (exit 1)', async () => {
    await sync();
    const acmeBefore = await nodeFiles('acme');
    await db.exec(
      `UPDATE customers SET replicas = 'three', plan = 'new' WHERE id = 'acme'; UPDATE customers SET plan = 'x' WHERE id = 'globex'`,
    );
    const result = await sync();
    assert.equal(result.code, 1);
    assert.match(
      result.out,
      /customers\/web\/acme: failed: hub customers, form web, uid "acme", resource app, field spec\.spec\.replicas: .*"three" is not an integer/,
    );
    assert.deepEqual(await nodeFiles('acme'), acmeBefore);
    assert.match((await logMessages(remote.dir, 'main'))[0]!, /^lynq\(customers\): 1 updated\n\nweb\/globex: updated/);
  });

  test('duplicate and invalid uids fail their rows, named; nothing of theirs is removed', async () => {
    await sync();
    await db.exec(
      `INSERT INTO customers VALUES ('acme', true, 'copy', '1'), ('Bad/Uid', true, 'x', '1'), ('ok', true, 'x', '1')`,
    );
    const result = await sync();
    assert.equal(result.code, 1);
    assert.match(result.out, /uid "acme": the uid appears in 2 active rows \(rows 1, 5\)/);
    assert.match(result.out, /uid "Bad\/Uid" contains a path separator/);
    assert.equal((await nodeFiles('acme')).size, 4);
    assert.equal((await nodeFiles('ok')).size, 4);
  });

  test('--dry-run prints the plan and the diff, and writes nothing anywhere', async () => {
    await sync();
    const head = await revParse(remote.dir, 'main');
    await db.exec(
      `UPDATE customers SET plan = 'platinum' WHERE id = 'acme'; UPDATE customers SET active = false WHERE id = 'initech'`,
    );
    const cacheDir = path.join(files.dir, 'dry-cache');
    const result = await lynq(
      [
        'sync',
        '--hubs',
        `${files.dir}/hubs`,
        '--forms',
        `${files.dir}/forms`,
        '--repo',
        remote.dir,
        '--dry-run',
        '--diff',
      ],
      { LYNQ_CACHE_DIR: cacheDir },
    );
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /customers\/web\/acme: updated \(columns changed: plan\) \[settings\]/);
    assert.match(result.out, /customers\/web\/globex: unchanged/);
    assert.match(result.out, /customers\/web\/initech: removed \(row deactivated\)/);
    assert.match(result.out, /^-  PLAN: gold\n\+  PLAN: platinum$/m);
    assert.match(result.out, /would commit/);
    assert.equal(await revParse(remote.dir, 'main'), head);
    assert.equal(existsSync(cacheDir), false, 'a dry run leaves no cache behind');
  });

  test('a push race: another commit lands between our fetch and our push; we plan again on it', async () => {
    await sync();
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const other = await cloneWorkTree(remote.dir);
    const config = await loadConfig({ hubsDir: `${files.dir}/hubs`, formsDir: `${files.dir}/forms` });
    const deps = createSyncDeps({
      logger: silentLogger(),
      repoOverride: remote.dir,
      dryRun: false,
      diff: false,
      out: process.stdout,
      env,
    });
    let raced = false;
    const racing = withRepo(deps, (repo) => ({
      push: async (commit: string, branch: string, expected: string | undefined) => {
        if (!raced) {
          raced = true;
          await commitFiles(
            other.dir,
            { 'README.md': 'someone else\n', 'nodes/customers/web/globex/kustomization.yaml': 'edited: by hand\n' },
            'human commit',
          );
          await other.git('push', '--quiet', 'origin', 'main');
        }
        return repo.push(commit, branch, expected);
      },
    }));
    const result = await syncHub(config.hubs.get('customers')!, config.forms, racing, { allowDeletions: false });
    await other.cleanup();
    assert.equal(result.outcome, 'published');
    assert.ok('attempts' in result && result.attempts === 2);
    const causes = Object.fromEntries(result.plan.nodes.map((node) => [node.uid, node.causes]));
    assert.deepEqual(
      causes,
      { acme: ['row'], globex: ['edit'], initech: [] },
      'routing acts on these, not on the reason text',
    );
    const messages = await logMessages(remote.dir, 'main');
    assert.equal(messages.length, 3);
    assert.match(messages[1]!, /human commit/);
    assert.match(messages[0]!, /web\/acme: updated \(columns changed: plan\)/);
    assert.match(
      messages[0]!,
      /web\/globex: updated \(files edited in Git restored to the rendered version\)/,
      'the re-plan saw the new head',
    );
    assert.equal((await readTree(remote.dir, 'main')).get('README.md'), 'someone else\n');
  });

  test('a push race re-reads the rows: a slow sync never publishes rows older than what another sync published', async () => {
    await sync();
    await db.exec(`UPDATE customers SET plan = 'old' WHERE id = 'acme'`);
    const config = await loadConfig({ hubsDir: `${files.dir}/hubs`, formsDir: `${files.dir}/forms` });
    const deps = createSyncDeps({
      logger: silentLogger(),
      repoOverride: remote.dir,
      dryRun: false,
      diff: false,
      out: process.stdout,
      env,
    });
    let raced = false;
    let reads = 0;
    const slow: SyncDeps = {
      ...withRepo(deps, (repo) => ({
        // Sync A read plan = old and stalled; meanwhile the row changed and sync B published it.
        push: async (commit: string, branch: string, expected: string | undefined) => {
          if (!raced) {
            raced = true;
            await db.exec(`UPDATE customers SET plan = 'new' WHERE id = 'acme'`);
            // Sync B is another process with a cache of its own (this one's clone is locked by A).
            const other = await lynq(
              ['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir],
              { LYNQ_CACHE_DIR: path.join(files.dir, 'cache-b') },
            );
            assert.equal(other.code, 0, other.out);
          }
          return repo.push(commit, branch, expected);
        },
      })),
      readRows: (hub, signal) => {
        reads++;
        return deps.readRows(hub, signal);
      },
    };
    const result = await syncHub(config.hubs.get('customers')!, config.forms, slow, { allowDeletions: false });
    assert.equal(result.outcome, 'unchanged', 'B already published what A now reads');
    assert.equal(reads, 2, 'the rows were read again before planning again');
    const settings = (await readTree(remote.dir, 'main')).get('nodes/customers/web/acme/settings.yaml')!;
    assert.match(settings, /PLAN: new/);
    assert.equal((await logMessages(remote.dir, 'main')).length, 2, 'first sync and B: no commit of the old rows');
  });

  test('a renamed form: its new nodes render the objects the held old ones still have, and fail, named', async () => {
    assert.equal((await sync()).code, 0);
    await writeFile(path.join(files.dir, 'forms/web.yaml'), FORM.replace('name: web', 'name: site'));
    const result = await sync();
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /customers\/web\/acme: held \(form web removed; held back by the deletion guard/);
    assert.match(
      result.out,
      /customers\/site\/acme: failed: hub customers, form site, uid "acme", resource settings: renders ConfigMap tenants\/acme-settings, which node web\/acme of this hub already renders/,
    );
    assert.equal((await readTree(remote.dir, 'main')).has('nodes/customers/site/acme/settings.yaml'), false);
  });

  /** syncHub itself, for what the CLI does not print: how many nodes were rendered, how many LynqNodes read. */
  const syncInProcess = async (dryRun = false) => {
    const config = await loadConfig({ hubsDir: `${files.dir}/hubs`, formsDir: `${files.dir}/forms` });
    const deps = createSyncDeps({
      logger: silentLogger(),
      repoOverride: remote.dir,
      dryRun,
      diff: false,
      out: new PassThrough(),
      env,
    });
    let blobsRead = 0;
    let folderListings = 0;
    const storedAhead: string[] = [];
    /** The node files the sync listed (the listing's node-folder paths, one per node). */
    const nodesListed = new Set<string>();
    const counting = withRepo(deps, (repo) => ({
      readBlobs: (ids: readonly string[]) => {
        blobsRead += ids.length;
        return repo.readBlobs(ids);
      },
      listNodeFolders: (commit: string | undefined, prefix: string) => {
        folderListings++;
        return repo.listNodeFolders(commit, prefix);
      },
      listTree: async (commit: string | undefined, prefix: string | readonly string[]) => {
        const listing = await repo.listTree(commit, prefix);
        for (const file of listing.keys())
          if (file.startsWith('nodes/')) nodesListed.add(file.split('/').slice(0, 4).join('/'));
        return listing;
      },
      // Called on the derived object, so the run it starts is the one its commit() ends.
      storeAhead(this: ManifestsRepo, files: Iterable<readonly [string, string]>) {
        const list = [...files];
        storedAhead.push(...list.map(([file]) => file));
        return repo.storeAhead.call(this, list);
      },
    }));
    const result = await syncHub(config.hubs.get('customers')!, config.forms, counting, { allowDeletions: false });
    assert.ok('plan' in result, `sync failed: ${'error' in result ? result.error : result.outcome}`);
    return {
      ...result,
      blobsRead,
      folderListings,
      storedAhead,
      nodesListed: [...nodesListed].sort(),
      statuses: Object.fromEntries(result.plan.nodes.map((node) => [node.uid, node.status])),
    };
  };

  test('the files a sync commits are stored while it still renders; a dry run stores none', async () => {
    const dry = await syncInProcess(true);
    assert.deepEqual(Object.values(dry.statuses), ['added', 'added', 'added']);
    assert.deepEqual(dry.storedAhead, [], 'a dry run commits nothing, so it stores nothing ahead');
    const first = await syncInProcess();
    assert.equal(first.outcome, 'published');
    const written = first.plan.nodes.flatMap((node) => [...node.writes.keys()]);
    assert.ok(written.length >= 9, `three nodes of several files each, saw ${written.length}`);
    assert.deepEqual(first.storedAhead, written, 'every written file, node by node, as each was rendered');
    const tree = await readTree(remote.dir, 'main');
    assert.deepEqual([...tree.keys()].sort(), [...written].sort());
    // Once stored, the plan keeps only the blob ids: git holds the contents.
    for (const node of first.plan.nodes)
      for (const [file, content] of node.writes) assert.deepEqual(content, { blob: gitBlobId(tree.get(file)!) }, file);
    for (const node of first.plan.nodes)
      assert.ok(
        node.node!.files.every((file) => file.content === undefined),
        `${node.uid}: no file content kept`,
      );
    await db.exec(`UPDATE customers SET replicas = '7' WHERE id = 'globex'`);
    const oneRow = await syncInProcess();
    const globex = oneRow.plan.nodes.find((node) => node.uid === 'globex')!;
    assert.deepEqual([oneRow.outcome, globex.status], ['published', 'updated']);
    assert.deepEqual(oneRow.storedAhead, [...globex.writes.keys()]);
    const afterChange = await readTree(remote.dir, 'main');
    for (const [file, content] of globex.writes)
      assert.deepEqual(content, { blob: gitBlobId(afterChange.get(file)!) }, file);
  });

  test('a sync renders only the nodes whose row, form or files changed; the LynqNode seal vouches for the rest', async () => {
    const first = await syncInProcess();
    assert.equal(first.plan.rendered, 3);
    const noop = await syncInProcess();
    assert.equal(noop.outcome, 'unchanged');
    assert.equal(noop.plan.rendered, 0, 'nothing changed: no node is rendered');
    assert.equal(noop.blobsRead, 0, 'the seals of what the first sync rendered are remembered in the cache folder');
    assert.deepEqual(noop.nodesListed, [], 'and so are their folders: no node has its files listed');
    assert.deepEqual(noop.statuses, { acme: 'unchanged', globex: 'unchanged', initech: 'unchanged' });
    const store = path.join(env.LYNQ_CACHE_DIR!, 'verified', 'customers.txt');
    await writeFile(store, 'not a key\n');
    await writeFile(path.join(env.LYNQ_CACHE_DIR!, 'verified', 'customers.hub'), 'not a key either\n');
    const torn = await syncInProcess();
    assert.deepEqual(
      [torn.plan.rendered, torn.blobsRead, torn.outcome],
      [0, 3, 'unchanged'],
      'a torn store is ignored: every LynqNode is read to check its seal',
    );
    assert.equal(torn.nodesListed.length, 3, 'every node folder is listed');
    const remembered = await syncInProcess();
    assert.deepEqual(
      [remembered.plan.rendered, remembered.blobsRead],
      [0, 0],
      'and the seals checked are remembered again',
    );
    const other = await cloneWorkTree(remote.dir);
    try {
      await commitFiles(other.dir, { 'nodes/customers/web/acme/kustomization.yaml': 'edited: by hand\n' }, 'hand edit');
      await other.git('push', '--quiet', 'origin', 'main');
    } finally {
      await other.cleanup();
    }
    const edited = await syncInProcess();
    assert.deepEqual(
      edited.nodesListed,
      ['nodes/customers/web/acme'],
      'only the edited folder (its tree id changed) is listed',
    );
    assert.deepEqual(
      [edited.plan.rendered, edited.statuses.acme],
      [1, 'updated'],
      'a remembered seal is for the exact files it checked',
    );
    await db.exec(`UPDATE customers SET replicas = '5' WHERE id = 'initech'`);
    const oneRow = await syncInProcess();
    assert.equal(oneRow.plan.rendered, 1);
    assert.deepEqual(oneRow.nodesListed, ['nodes/customers/web/initech'], 'only the changed row’s folder is listed');
    assert.deepEqual(oneRow.statuses, { acme: 'unchanged', globex: 'unchanged', initech: 'updated' });
    await rewrite(
      files.dir,
      'hubs/customers.yaml',
      hubFile(db.name).replace('namespace: tenants', 'namespace: customers'),
    );
    const hubChanged = await syncInProcess();
    assert.equal(hubChanged.plan.rendered, 3, 'the hub namespace is part of every input hash');
    assert.deepEqual(
      hubChanged.plan.nodes.map((node) => node.causes),
      [['hub'], ['hub'], ['hub']],
    );
  });

  test('a hub a sync left whole is planned without a listing while its folders are as that sync left them: unchanged, or only the nodes whose input changed', async () => {
    const first = await syncInProcess();
    assert.deepEqual(
      [first.outcome, first.folderListings],
      ['published', 1],
      'an empty cache: every node folder listed',
    );
    const noop = await syncInProcess();
    assert.deepEqual(
      [noop.outcome, noop.folderListings, noop.blobsRead, noop.nodesListed, noop.plan.rendered],
      ['unchanged', 0, 0, [], 0],
      'every change was pushed as rendered: the hub is whole',
    );
    assert.deepEqual(noop.statuses, { acme: 'unchanged', globex: 'unchanged', initech: 'unchanged' });
    assert.equal(noop.plan.existingNodes, 3);

    await db.exec(`UPDATE customers SET replicas = '9' WHERE id = 'initech'`);
    const oneRow = await syncInProcess();
    assert.deepEqual(
      [oneRow.folderListings, oneRow.nodesListed, oneRow.blobsRead, oneRow.plan.rendered],
      [0, ['nodes/customers/web/initech'], 1, 1],
      'only the changed row is looked into',
    );
    assert.deepEqual(
      [oneRow.outcome, oneRow.statuses],
      ['published', { acme: 'unchanged', globex: 'unchanged', initech: 'updated' }],
    );
    assert.match((await readTree(remote.dir, 'main')).get('nodes/customers/web/initech/lynqnode.yaml')!, /sha256:/);
    assert.equal((await syncInProcess()).folderListings, 0, 'and the hub is whole again at the new commit');

    const other = await cloneWorkTree(remote.dir);
    try {
      await commitFiles(
        other.dir,
        { 'nodes/customers/web/globex/notes.yaml': 'added: by hand\n' },
        'a file added by hand',
      );
      await other.git('push', '--quiet', 'origin', 'main');
    } finally {
      await other.cleanup();
    }
    const edited = await syncInProcess();
    assert.deepEqual(
      [edited.folderListings, edited.statuses.globex, edited.outcome],
      [1, 'updated', 'published'],
      'a hand edit changes the folders: node by node again, and put back',
    );
    assert.equal((await syncInProcess()).folderListings, 0);

    await db.exec(`DELETE FROM customers WHERE id = 'acme'`);
    const deleted = await syncInProcess();
    assert.deepEqual(
      [deleted.folderListings, deleted.statuses.acme, deleted.plan.existingNodes, deleted.outcome],
      [0, 'removed', 3, 'published'],
      'a row gone: its node is removed',
    );
    assert.equal((await readTree(remote.dir, 'main')).has('nodes/customers/web/acme/settings.yaml'), false);
    const after = await syncInProcess();
    assert.deepEqual(
      [after.folderListings, after.statuses, after.plan.existingNodes],
      [0, { globex: 'unchanged', initech: 'unchanged' }, 2],
    );
    await db.exec(`INSERT INTO customers VALUES ('acme', true, 'gold', '3'), ('globex', true, 'other', '1')`);
    const broken = await syncInProcess();
    assert.deepEqual([broken.folderListings, broken.statuses.globex], [1, 'failed'], 'a failing node: node by node');
  });

  test('hand edits anywhere in a node folder break its seal: the node is rendered again and put back', async () => {
    await sync();
    const published = await readTree(remote.dir, 'main');
    const other = await cloneWorkTree(remote.dir);
    try {
      const lynqNode = published.get('nodes/customers/web/acme/lynqnode.yaml')!;
      // The LynqNode edited below its annotations (its input hash and seal left as they were).
      await commitFiles(
        other.dir,
        {
          'nodes/customers/web/acme/lynqnode.yaml': lynqNode.replace('hubId: customers', 'hubId: someone-else'),
          'nodes/customers/web/globex/notes.yaml': 'added: by hand\n',
        },
        'hand edits',
      );
      await other.git('rm', '--quiet', 'nodes/customers/web/initech/kustomization.yaml');
      await other.git('commit', '--quiet', '-m', 'a file removed by hand');
      await other.git('push', '--quiet', 'origin', 'main');
    } finally {
      await other.cleanup();
    }
    const result = await syncInProcess();
    assert.equal(result.plan.rendered, 3);
    assert.deepEqual(result.statuses, { acme: 'updated', globex: 'updated', initech: 'updated' });
    assert.deepEqual(
      result.plan.nodes.map((node) => node.causes),
      [['edit'], ['edit'], ['edit']],
    );
    assert.deepEqual(
      await readTree(remote.dir, 'main'),
      published,
      'every byte the bridge wrote is back, the added file gone',
    );
    assert.equal((await syncInProcess()).plan.rendered, 0, 'and then the seals hold again');
  });

  test('kubectl kustomize builds every published node folder', async () => {
    await sync();
    const work = await cloneWorkTree(remote.dir);
    try {
      const dirs = await readdir(path.join(work.dir, 'nodes/customers/web'));
      assert.equal(dirs.length, 3);
      for (const uid of dirs) await run('kubectl', ['kustomize', path.join(work.dir, 'nodes/customers/web', uid)]);
    } finally {
      await work.cleanup();
    }
  });
});

/** The deps with some methods of the repository they open replaced (to race a push, to count reads). */
function withRepo(deps: SyncDeps, overrides: (repo: ManifestsRepo) => Partial<ManifestsRepo>): SyncDeps {
  return {
    ...deps,
    openRepo: async (hub) => {
      const repo = await deps.openRepo(hub);
      return Object.assign(Object.create(repo) as ManifestsRepo, overrides(repo));
    },
  };
}

/** Replace a hub or form file between syncs. */
function rewrite(dir: string, file: string, content: string): Promise<void> {
  return writeFile(path.join(dir, file), content);
}
