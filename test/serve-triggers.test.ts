// @slow: about 80 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createMariadbDatabase, createPostgresDatabase, POSTGRES, type TestDatabase } from './helpers/db.ts';
import { makeBareRepo } from './helpers/git.ts';
import { startLynq, stopLynq } from './helpers/serve.ts';
import { NEVER, nodesIn, serve, waitFor, world } from './helpers/serve-world.ts';

const TOKEN = 'a-webhook-token-of-some-length-42';

/** The trigger SQL shipped in docs/, for this table and channel. */
async function triggerSql(table: string, channel: string): Promise<string> {
  const text = await readFile('docs/notify-trigger.sql', 'utf8');
  return text
    .replaceAll('lynq_customers', channel)
    .replaceAll('lynq_notify_customers', `lynq_notify_${table}`)
    .replaceAll(' ON customers', ` ON ${table}`);
}

describe('lynq serve: instant triggers', () => {
  let pgDb: TestDatabase;
  let myDb: TestDatabase;
  before(async () => {
    pgDb = await createPostgresDatabase();
    myDb = await createMariadbDatabase();
  });
  after(async () => {
    await pgDb.drop();
    await myDb.drop();
  });

  test('PostgreSQL NOTIFY (the trigger SQL from docs/) syncs the hub at once; a burst of 1,000 inserts is one or two syncs', async () => {
    await pgDb.exec(`CREATE TABLE tenants (id text, active boolean); INSERT INTO tenants VALUES ('t0', true);`);
    await pgDb.exec(await triggerSql('tenants', 'tenants_changed'));
    const remote = await makeBareRepo();
    const w = await world([
      {
        name: 'tenants',
        type: 'postgresql',
        database: pgDb.name,
        repo: remote.dir,
        interval: NEVER,
        table: 'tenants',
        notifyChannel: 'tenants_changed',
      },
    ]);
    const proc = serve(w);
    const client = new pg.Client({ ...POSTGRES, database: pgDb.name });
    await client.connect();
    try {
      await proc.waitForLog(
        (logs) =>
          logs.some((line) => line.msg === 'listening for notifications') &&
          logs.some((line) => line.msg === 'sync finished'),
        'the first sync and the LISTEN session',
      );
      await client.query(`INSERT INTO tenants VALUES ('t1', true)`);
      await waitFor(async () => (await nodesIn(remote.dir, 'tenants')).includes('t1'), 'the notified row published');
      const notified = () =>
        proc.logs.filter((line) => line.msg === 'sync started' && line.trigger === 'notify').length;
      assert.equal(notified(), 1);

      const before = notified();
      // 1,000 separate statements, each its own transaction and its own notification, sent back to back.
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => client.query('INSERT INTO tenants VALUES ($1, true)', [`b${i}`])),
      );
      await waitFor(async () => (await nodesIn(remote.dir, 'tenants')).length === 1002, 'the burst published');
      await proc.waitForLog(
        (logs) =>
          logs.filter((line) => line.msg === 'sync finished').length ===
          logs.filter((line) => line.msg === 'sync started').length,
        'syncs settled',
      );
      const burst = notified() - before;
      assert.ok(burst >= 1 && burst <= 2, `a burst of 1,000 notifications gave ${burst} syncs`);
      assert.equal(
        proc.logs.filter((line) => line.msg === 'scheduled tick skipped: the previous sync is still running').length,
        0,
      );
      assert.equal(await stopLynq(proc), 0);
    } finally {
      await client.end();
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });

  test('the webhook: 202 syncs the hub (a MySQL one), 401 without the right bearer token, 404 for an unknown hub, 405 for GET; the token never reaches the logs', async () => {
    await myDb.exec(`CREATE TABLE shops (id varchar(20), active tinyint); INSERT INTO shops VALUES ('s0', 1);`);
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shops', type: 'mysql', database: myDb.name, repo: remote.dir, interval: NEVER, table: 'shops' },
    ]);
    const tokenFile = path.join(w.dir, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    const proc = serve(w, { LYNQ_WEBHOOK_TOKEN_FILE: tokenFile, LYNQ_LOG_LEVEL: 'debug' });
    try {
      const url = await proc.url();
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync finished'), 'the first sync');
      const hook = (hub: string, headers: Record<string, string> = {}, method = 'POST') =>
        fetch(`${url}/hooks/sync/${hub}`, { method, headers });
      assert.equal((await hook('shops')).status, 401);
      const wrong = await hook('shops', { authorization: `Bearer ${TOKEN}x` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="lynq"');
      assert.equal(
        (await hook('shops', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status,
        401,
      );
      assert.equal((await hook('nope')).status, 401, 'without the token, an unknown hub looks the same as a known one');
      assert.equal((await hook('nope', { authorization: `Bearer ${TOKEN}` })).status, 404);
      assert.equal((await hook('shops', { authorization: `Bearer ${TOKEN}` }, 'GET')).status, 405);

      await myDb.exec(`INSERT INTO shops VALUES ('s1', 1);`);
      const accepted = await hook('shops', { authorization: `Bearer ${TOKEN}` });
      assert.equal(accepted.status, 202);
      await waitFor(
        async () => (await nodesIn(remote.dir, 'shops')).includes('s1'),
        'the webhook-triggered sync published',
      );
      assert.ok(proc.logs.some((line) => line.msg === 'sync started' && line.trigger === 'webhook'));
      assert.equal(await stopLynq(proc), 0);
      assert.ok(!proc.stderr().includes(TOKEN), 'the token is not in any log line');
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });

  test('without a token the webhook is off (404); a short token is refused at start', async () => {
    const remote = await makeBareRepo();
    await myDb.exec(`CREATE TABLE IF NOT EXISTS shops2 (id varchar(20), active tinyint);`);
    const w = await world([
      { name: 'shops', type: 'mysql', database: myDb.name, repo: remote.dir, interval: NEVER, table: 'shops2' },
    ]);
    const proc = serve(w);
    try {
      const url = await proc.url();
      assert.equal(
        (
          await fetch(`${url}/hooks/sync/shops`, {
            method: 'POST',
            headers: { authorization: 'Bearer anything-at-all-here' },
          })
        ).status,
        404,
      );
      assert.equal(await stopLynq(proc), 0);
      const short = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '127.0.0.1:0'], {
        LYNQ_WEBHOOK_TOKEN: 'short',
        LYNQ_CACHE_DIR: path.join(w.dir, 'cache'),
      });
      assert.equal(await short.exited, 2);
      assert.match(short.stderr(), /the webhook token from LYNQ_WEBHOOK_TOKEN is shorter than 16 characters/);
      const bad = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', 'nowhere'], {
        LYNQ_CACHE_DIR: path.join(w.dir, 'cache'),
      });
      assert.equal(await bad.exited, 2);
      assert.match(bad.stderr(), /--listen "nowhere": expected HOST:PORT/);
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
