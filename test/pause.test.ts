import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { parseHub } from '../src/config/load.ts';
import { toHubRows } from '../src/sources/rows.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { commitCount, logMessages, makeBareRepo, readTree } from './helpers/git.ts';

// Pausing a node from its row: spec.valueMappings.paused names a column; while it is true,
// Git keeps the row's nodes as they are. Through `lynq sync`, against PostgreSQL.

const hubFile = (database: string, paused = true) =>
  hubYaml({ database, port: 5432, connectTimeoutSeconds: 3, extra: { plan: 'plan' } }).replace(
    '    activate: active\n',
    `    activate: active\n${paused ? '    paused: frozen\n' : ''}`,
  );

const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

describe('pausing a node (spec.valueMappings.paused), through lynq sync against PostgreSQL', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let env: NodeJS.ProcessEnv;
  const sync = (...extra: string[]) =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir, ...extra], env);
  const settingsOf = async (uid: string) =>
    (await readTree(remote.dir, 'main')).get(`nodes/customers/web/${uid}/settings.yaml`);

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id text, active boolean, plan text, frozen text);
      INSERT INTO customers VALUES ('acme', true, 'gold', 'no'), ('globex', true, 'silver', ''), ('initech', true, 'bronze', NULL);`);
    remote = await makeBareRepo();
    files = await tempFiles({ 'hubs/customers.yaml': hubFile(db.name), 'forms/web.yaml': FORM });
    env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  });
  afterEach(async () => {
    await remote.cleanup();
    await files.cleanup();
  });

  test('adding the mapping changes no node; a paused node is left as Git has it while the others sync', async () => {
    await writeFile(path.join(files.dir, 'hubs/customers.yaml'), hubFile(db.name, false));
    assert.equal((await sync()).code, 0);
    await writeFile(path.join(files.dir, 'hubs/customers.yaml'), hubFile(db.name));
    const mapped = await sync();
    assert.equal(mapped.code, 0, mapped.err + mapped.out);
    assert.equal(
      await commitCount(remote.dir, 'main'),
      1,
      'the pause column is not a template variable: no node changes',
    );

    await db.exec(
      `UPDATE customers SET frozen = 'yes', plan = 'platinum' WHERE id = 'acme'; UPDATE customers SET plan = 'gold' WHERE id = 'globex'`,
    );
    const before = await settingsOf('acme');
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    assert.match(result.out, /^hub\s+added\s+updated\s+unchanged\s+removed\s+held\s+paused\s+failed\s+commit$/m);
    assert.match(result.out, /customers\s+0\s+1\s+1\s+0\s+0\s+1\s+0\s+[0-9a-f]{12}/);
    assert.match(result.out, /customers\/web\/acme: paused \(paused by column frozen: left as it is in Git\)/);
    assert.equal(await settingsOf('acme'), before, 'the paused node keeps what Git has');
    assert.match((await settingsOf('globex'))!, /PLAN: gold/);
    const [message] = await logMessages(remote.dir, 'main');
    assert.doesNotMatch(message!, /web\/acme/);
    assert.match(message!, /Not in this commit: 1 paused \(what Git had for them is kept\)\./);
  });

  test('a paused row deactivated or leaving is not removed; unpaused, what accumulated is one change', async () => {
    await sync();
    await db.exec(`UPDATE customers SET frozen = 'true' WHERE id = 'acme'`);
    await db.exec(`UPDATE customers SET plan = 'platinum', active = false WHERE id = 'acme'`);
    const paused = await sync();
    assert.equal(paused.code, 0, paused.err + paused.out);
    assert.ok((await settingsOf('acme')) !== undefined, 'deactivated while paused: still in Git');
    assert.equal(await commitCount(remote.dir, 'main'), 1);

    await db.exec(`UPDATE customers SET active = true WHERE id = 'acme'`);
    assert.equal((await sync()).code, 0);
    assert.equal(await commitCount(remote.dir, 'main'), 1, 'still paused');
    await db.exec(`UPDATE customers SET frozen = 'no' WHERE id = 'acme'`);
    const resumed = await sync();
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    assert.equal(await commitCount(remote.dir, 'main'), 2);
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/acme: updated \(columns changed: plan\) \[settings\]$/m,
    );
    assert.match((await settingsOf('acme'))!, /PLAN: platinum/);
  });

  test('a hub whose table lacks the pause column names the mapping', async () => {
    await db.exec('ALTER TABLE customers DROP COLUMN frozen');
    const result = await sync();
    assert.equal(result.code, 2, result.out);
    assert.match(
      result.err + result.out,
      /customers\.yaml:\d+, hub customers, field spec\.valueMappings\.paused: column "frozen" is not in the query result/,
    );
  });
});

describe('the pause column as rows are read', () => {
  test('truthy as activate is read; not a template variable, so in no row hash', () => {
    const hub = parseHub('hubs/customers.yaml', hubFile('test'));
    const rows = toHubRows(hub, {
      columns: ['id', 'active', 'plan', 'frozen'],
      rows: [
        { id: 'a', active: true, plan: 'x', frozen: 'yes' },
        { id: 'b', active: true, plan: 'x', frozen: 1 },
        { id: 'c', active: true, plan: 'x', frozen: 'no' },
        { id: 'd', active: true, plan: 'x', frozen: null },
        { id: 'e', active: true, plan: 'x', frozen: 'paused' },
      ],
    });
    assert.deepEqual(
      rows.map((row) => [row.uid, row.paused === true]),
      [
        ['a', true],
        ['b', true],
        ['c', false],
        ['d', false],
        ['e', false],
      ],
    );
    for (const row of rows) assert.deepEqual(Object.keys(row.values).sort(), ['activate', 'plan', 'uid']);
  });
});
