// @slow: about 15 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { printable } from '../src/cli/printable.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { makeBareRepo, readTree } from './helpers/git.ts';

const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

// bytea columns: the driver hands the bridge raw bytes, as a binary column of any database would.
describe('a row cannot remove or forge', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  const sync = () =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir], {
      LYNQ_CACHE_DIR: path.join(files.dir, 'cache'),
    });
  const nodesInGit = async () =>
    [...(await readTree(remote.dir, 'main')).keys()].filter((file) => file.endsWith('/settings.yaml')).sort();
  const ALL = ['acme', 'globex', 'initech'].map((uid) => `nodes/customers/web/${uid}/settings.yaml`);

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id bytea, active boolean, plan bytea);
      INSERT INTO customers VALUES ('acme', true, 'gold'), ('globex', true, 'silver'), ('initech', true, 'bronze');`);
    remote = await makeBareRepo();
    files = await tempFiles({
      'hubs/customers.yaml': hubYaml({ database: db.name, extra: { plan: 'plan' } }),
      'forms/web.yaml': FORM,
    });
    const first = await sync();
    assert.equal(first.code, 0, first.err + first.out);
    assert.deepEqual(await nodesInGit(), ALL);
  });
  afterEach(async () => {
    await remote.cleanup();
    await files.cleanup();
  });

  test('a row whose uid turned NULL fails, and the node it was is not removed as "row deleted"', async () => {
    await db.exec(`UPDATE customers SET id = NULL WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    assert.deepEqual(await nodesInGit(), ALL, 'acme is still in Git');
    assert.match(result.out, /uid "" is empty \(NULL or "" in the uid column\)/);
    assert.match(
      result.out,
      /customers\/web\/acme: failed: .*no row has this uid, but row \d+ cannot say which node it is/,
    );
    assert.doesNotMatch(result.out, /removed \(row deleted\)/);
  });

  test('a uid that is not a valid uid holds removals the same way', async () => {
    await db.exec(`UPDATE customers SET id = 'Acme Corp' WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    assert.deepEqual(await nodesInGit(), ALL);
  });

  test('a value that is not UTF-8 fails its row, named, and Git keeps the node as it was', async () => {
    await db.exec(`UPDATE customers SET plan = '\\xff676f6c64'::bytea WHERE id = 'globex'`);
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    assert.match(
      result.out,
      /customers\/web\/globex: failed: hub customers, form web, uid "globex": row \d: column "plan" \(plan\) is not valid UTF-8; the row fails until it is fixed/,
    );
    assert.match(
      (await readTree(remote.dir, 'main')).get('nodes/customers/web/globex/settings.yaml') ?? '',
      /PLAN: silver/,
    );
  });

  test('a uid that is not UTF-8 fails its row, and no node is removed for it', async () => {
    await db.exec(`UPDATE customers SET id = '\\x61636d65ff'::bytea WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    assert.match(result.out, /column "id" \(uid\) is not valid UTF-8/);
    assert.deepEqual(await nodesInGit(), ALL);
  });

  test('a uid with a newline or control characters cannot forge a line of the summary', async () => {
    await db.exec(
      `INSERT INTO customers VALUES (convert_to(E'evil\\ncustomers/web/forged: added (new row)\\u001b[2K', 'UTF8'), true, 'gold')`,
    );
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    const lines = result.out.split('\n');
    assert.ok(!lines.some((line) => line.startsWith('customers/web/forged')), result.out);
    assert.ok(!result.out.includes('\u001b'), 'no raw escape character');
    assert.match(result.out, /evil\\ncustomers\/web\/forged: added \(new row\)\\x1b\[2K/);
  });
});

describe('printable', () => {
  test('control characters, line and paragraph separators and bidi overrides are escaped; other text is not', () => {
    assert.equal(printable('a\nb\r\tc\u0000\u007f\u009b'), 'a\\nb\\r\\tc\\x00\\x7f\\x9b');
    assert.equal(printable('x\u2028y\u202ez\u2066'), 'x\\u2028y\\u202ez\\u2066');
    assert.equal(printable('Zürich – 東京 ✓'), 'Zürich – 東京 ✓');
  });

  test('invisible characters are escaped as bidi controls and NUL are: zero-width space and joiners, BOM, soft hyphen, odd spaces, tags, fillers', () => {
    assert.equal(printable('ac\u200bme: failed'), 'ac\\u200bme: failed');
    assert.equal(printable('a\u200cb\u200dc\u2060d\ufeffe\u00adf'), 'a\\u200cb\\u200dc\\u2060d\\ufeffe\\xadf');
    assert.equal(printable('a\u00a0b\u3000c\u2009d'), 'a\\xa0b\\u3000c\\u2009d');
    assert.equal(printable('x\u{e0041}y\u3164z\u061c'), 'x\\u{e0041}y\\u3164z\\u061c');
    assert.equal(printable('plain ascii, one space'), 'plain ascii, one space');
  });
});
