import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { cloneWorkTree, commitFiles, logMessages, makeBareRepo, readTree } from './helpers/git.ts';

/**
 * The policies that only show over two syncs, end to end: the CLI against a real
 * PostgreSQL and a bare repository, with commits by "someone else" in between.
 */

const hubFile = (database: string, engine: 'argocd' | 'flux' | 'none') =>
  hubYaml({
    database,
    extra: { plan: 'plan' },
    spec: `  gitops:\n    engine: ${engine}\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n`,
  });

const form = (options: { settingsPolicy?: string; seedTemplate?: string } = {}) =>
  formYaml(`  namespaces:
    - id: ns
      nameTemplate: "{{ uid }}"
      deletionPolicy: Retain
      spec:
        apiVersion: v1
        kind: Namespace
  configMaps:
    - id: settings
      dependIds: [ns]
      nameTemplate: settings
      targetNamespace: "{{ uid }}"
${options.settingsPolicy ?? ''}      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
    - id: seed
      dependIds: [ns]
      nameTemplate: seed
      targetNamespace: "{{ uid }}"
      creationPolicy: Once
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          INITIAL_PLAN: "${options.seedTemplate ?? '{{ plan }}'}"
`);

describe('policies over two syncs (CLI, PostgreSQL, bare repository)', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  const sync = (...extra: string[]) =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir, ...extra], {
      LYNQ_CACHE_DIR: path.join(files.dir, 'cache'),
    });
  const rewrite = (file: string, content: string) => writeFile(path.join(files.dir, file), content);
  const tree = () => readTree(remote.dir, 'main');
  const node = (uid: string, name: string) => `nodes/customers/web/${uid}/${name}`;

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id text, active boolean, plan text);
      INSERT INTO customers VALUES ('acme', true, 'gold'), ('globex', true, 'silver'), ('initech', true, 'bronze');`);
    remote = await makeBareRepo();
    files = await tempFiles({ 'hubs/customers.yaml': hubFile(db.name, 'argocd'), 'forms/web.yaml': form() });
  });

  test('deletionPolicy Retain: removing the node removes its files, and what the engine last saw keeps the resource', async () => {
    assert.equal((await sync()).code, 0);
    const first = await tree();
    assert.ok(first.has('apps/customers/web/acme.yaml'), 'each node has its Argo CD Application');
    await db.exec(`UPDATE customers SET active = false WHERE id = 'acme'`);
    const removed = await sync();
    assert.equal(removed.code, 0, removed.out);
    assert.match((await logMessages(remote.dir, 'main'))[0]!, /web\/acme: removed \(row deactivated\)/);
    const now = await tree();
    assert.deepEqual(
      [...now.keys()].filter((file) => file.includes('acme')),
      [],
      'the node folder and its Application are gone',
    );
    // Argo CD deletes the pruned Application's resources (its finalizer) except Delete=false
    // ones; Flux prunes the Kustomization's inventory except prune: disabled ones.
    assert.match(
      first.get('apps/customers/web/acme.yaml')!,
      /  finalizers:\n    - resources-finalizer\.argocd\.argoproj\.io\n/,
    );
    assert.match(
      first.get(node('acme', 'ns.yaml'))!,
      /argocd\.argoproj\.io\/sync-options: Prune=false,Delete=false,ServerSideApply=true\n    kustomize\.toolkit\.fluxcd\.io\/prune: disabled\n/,
    );
    assert.doesNotMatch(first.get(node('acme', 'settings.yaml'))!, /Prune=false|prune: disabled/);
    assert.ok(now.has(node('globex', 'ns.yaml')) && now.has('apps/customers/web/globex.yaml'), 'other nodes stay');
  });

  test('creationPolicy Once: the file survives a form change and a row change; the rest of the node follows', async () => {
    assert.equal((await sync()).code, 0);
    const seed = (await tree()).get(node('acme', 'seed.yaml'))!;
    assert.match(seed, /INITIAL_PLAN: gold/);
    await rewrite(
      'forms/web.yaml',
      form({ seedTemplate: '{{ plan | upper }}' }).replace('PLAN: "{{ plan }}"', 'PLAN: "plan-{{ plan }}"'),
    );
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 0, result.out);
    const after = await tree();
    assert.equal(after.get(node('acme', 'seed.yaml')), seed, 'written once, never changed');
    assert.match(after.get(node('acme', 'settings.yaml'))!, /PLAN: plan-platinum/);
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/acme: updated \(columns changed: plan; form web changed\) \[settings\]$/m,
    );
  });

  test('conflictPolicy: a hand edit is left alone under Stuck (exit 1, named) and replaced under Force', async () => {
    assert.equal((await sync()).code, 0);
    const rendered = (await tree()).get(node('globex', 'settings.yaml'))!;
    const lynqNodeBefore = (await tree()).get(node('globex', 'lynqnode.yaml'))!;
    const edited = rendered.replace('PLAN: silver', 'PLAN: silver-hotfix');
    const other = await cloneWorkTree(remote.dir);
    try {
      await commitFiles(other.dir, { [node('globex', 'settings.yaml')]: edited }, 'hotfix by hand');
      await other.git('push', '--quiet', 'origin', 'main');
    } finally {
      await other.cleanup();
    }

    await db.exec(`UPDATE customers SET plan = 'gold' WHERE id = 'globex'`);
    const stuck = await sync();
    assert.equal(stuck.code, 1, stuck.out);
    assert.match(
      stuck.out,
      /^customers\/web\/globex: conflicted \(columns changed: plan; settings\.yaml edited in Git, left as is \(conflictPolicy Stuck\)\)$/m,
    );
    assert.match(stuck.out, /^hub\s+added\s+updated\s+unchanged\s+removed\s+held\s+conflicted\s+failed\s+commit$/m);
    assert.match(stuck.out, /^customers\s+0\s+0\s+2\s+0\s+0\s+1\s+0\s+[0-9a-f]{12}$/m);
    let now = await tree();
    assert.equal(now.get(node('globex', 'settings.yaml')), edited, 'the edited file is left alone');
    assert.notEqual(now.get(node('globex', 'lynqnode.yaml')), lynqNodeBefore, 'the rest of the node is still written');
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/globex: conflicted \(columns changed: plan; settings\.yaml edited in Git/m,
    );

    const again = await sync();
    assert.equal(again.code, 1, 'still conflicted until someone resolves it');
    assert.match(again.out, /customers\s+0\s+0\s+2\s+0\s+0\s+1\s+0\s+no changes/);

    await rewrite('forms/web.yaml', form({ settingsPolicy: '      conflictPolicy: Force\n' }));
    const forced = await sync();
    assert.equal(forced.code, 0, forced.out);
    now = await tree();
    assert.equal(
      now.get(node('globex', 'settings.yaml')),
      rendered.replace('PLAN: silver', 'PLAN: gold'),
      'overwritten with the rendered file',
    );
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/globex: updated \(form web changed; settings\.yaml edited in Git, overwritten \(conflictPolicy Force\)\) \[settings\]$/m,
    );
  });

  test('a node whose folder is gone but whose Application is left is still removed', async () => {
    assert.equal((await sync()).code, 0);
    const other = await cloneWorkTree(remote.dir);
    try {
      await rm(path.join(other.dir, 'nodes/customers/web/initech'), { recursive: true });
      await other.git('commit', '--quiet', '--all', '-m', 'someone removed a node folder');
      await other.git('push', '--quiet', 'origin', 'main');
    } finally {
      await other.cleanup();
    }
    await db.exec(`DELETE FROM customers WHERE id = 'initech'`);
    const result = await sync();
    assert.equal(result.code, 0, result.out);
    assert.equal((await tree()).has('apps/customers/web/initech.yaml'), false);
    assert.match((await logMessages(remote.dir, 'main'))[0]!, /web\/initech: removed \(row deleted\)/);
  });

  test('switching the engine rewrites the apps files and nothing else but the LynqNode; none removes them, past the deletion guard only when allowed', async () => {
    assert.equal((await sync()).code, 0);
    const before = await tree();
    await rewrite('hubs/customers.yaml', hubFile(db.name, 'flux'));
    assert.equal((await sync()).code, 0);
    const flux = await tree();
    assert.match(
      flux.get('apps/customers/web/acme.yaml')!,
      /^apiVersion: kustomize\.toolkit\.fluxcd\.io\/v1\nkind: Kustomization\n/,
    );
    assert.match(
      flux.get(node('acme', 'levels/1/kustomization.yaml'))!,
      /  - \.\.\/\.\.\/settings\.yaml\n  - \.\.\/\.\.\/seed\.yaml\n/,
    );
    for (const name of ['ns.yaml', 'settings.yaml', 'seed.yaml', 'kustomization.yaml'])
      assert.equal(flux.get(node('acme', name)), before.get(node('acme', name)), name);
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/acme: updated \(hub customers settings changed\)$/m,
    );

    await rewrite('hubs/customers.yaml', hubFile(db.name, 'none'));
    // Removing every engine object is removing every node from the engine's view (Argo CD
    // deletes an Application's workloads): the deletion guard holds it, as it holds rows.
    const guarded = await sync();
    assert.equal(guarded.code, 1, guarded.out);
    assert.match(
      guarded.out,
      /customers\/web\/acme: held \(its engine object \(Argo CD Application or Flux Kustomization\) removed: spec\.gitops\.engine is none; held back by the deletion guard: 3 of 3 nodes would be removed/,
    );
    assert.deepEqual(await tree(), flux, 'nothing changes while held');
    const allowed = await sync('--allow-deletions');
    assert.equal(allowed.code, 0, allowed.out);
    const none = await tree();
    assert.deepEqual(
      [...none.keys()].filter((file) => file.startsWith('apps/') || file.includes('/levels/')),
      [],
    );
    assert.equal(
      none.get(node('acme', 'ns.yaml')),
      before.get(node('acme', 'ns.yaml')),
      'policy annotations do not depend on the engine',
    );
  });
});
