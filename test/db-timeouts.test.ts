import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Hub } from '../src/config/load.ts';
import { createHubLocker, type HubLocker } from '../src/service/lock.ts';
import { listenForHub } from '../src/service/notify.ts';
import {
  createMariadbDatabase,
  createPostgresDatabase,
  hubFor,
  MARIADB,
  POSTGRES,
  testDeps,
  type TestDatabase,
} from './helpers/db.ts';
import { makeBareRepo, makeTempDir } from './helpers/git.ts';
import { stopLynq } from './helpers/serve.ts';
import { NEVER, nodesIn, serve, waitFor, world } from './helpers/serve-world.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

// A database connection that stops answering (a hung server, a middlebox, a partition),
// made by a TCP proxy that freezes the connections open through it; the servers are never
// stopped. LYNQ_DB_TIMEOUT is short so the tests do not wait; nothing here asserts on time.

const ENV = { LYNQ_DB_TIMEOUT: '0.5' };

describe('the hub lock through a connection that freezes', () => {
  let pgDb: TestDatabase;
  let myDb: TestDatabase;
  let cache: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    pgDb = await createPostgresDatabase();
    myDb = await createMariadbDatabase();
    cache = await makeTempDir('lynq-db-timeouts-');
  });
  after(async () => {
    await pgDb.drop();
    await myDb.drop();
    await cache.cleanup();
  });

  const locker = (): HubLocker => createHubLocker({ ...testDeps(ENV), cacheDir: cache.dir, retryMs: 50 });

  for (const type of ['postgresql', 'mysql'] as const) {
    test(`${type}: the frozen holder is noticed (lock lost), its release returns, another process still respects it, and this process ends it and takes the hub`, async () => {
      const proxy = await startTcpProxy(type === 'postgresql' ? POSTGRES : MARIADB);
      try {
        const settings =
          type === 'postgresql'
            ? { username: POSTGRES.user, database: pgDb.name }
            : { username: MARIADB.user, database: myDb.name };
        const hub: Hub = hubFor(type, { host: '127.0.0.1', port: proxy.port, table: 't', ...settings });
        const mine = locker();
        const held = await mine(hub, { waitMs: 0 });
        assert.ok(held.acquired);
        proxy.freeze();
        // The heartbeat goes unanswered: the lock is reported lost, which aborts the run holding it.
        if (!held.handle.lost.aborted) await once(held.handle.lost, 'abort');
        assert.match(
          String(held.handle.lost.reason),
          new RegExp(
            `sync lock of hub test-hub was lost: .*hub test-hub: sync lock session heartbeat on ${type} at 127\\.0\\.0\\.1: no answer within 0\\.5s \\(LYNQ_DB_TIMEOUT\\)`,
          ),
        );
        // Releasing a frozen session returns (bounded) instead of waiting for a goodbye that never comes.
        await held.handle.release();
        // The server still holds the frozen session and its lock: another process is refused, and told by whom.
        const other = await locker()(hub, { waitMs: 0 });
        assert.equal(other.acquired, false, 'another process respects the holder');
        // This process knows the session as one it lost: it ends it and takes the hub.
        const again = await mine(hub, { waitMs: 0 });
        assert.equal(again.acquired, true, 'the lock held by a session this process lost is treated as stale');
        if (again.acquired) await again.handle.release();
      } finally {
        await proxy.close();
      }
    });
  }

  test('a lock query that never answers fails named instead of hanging the run', async () => {
    const proxy = await startTcpProxy(MARIADB);
    try {
      const hub = hubFor('mysql', {
        host: '127.0.0.1',
        port: proxy.port,
        username: MARIADB.user,
        database: myDb.name,
        table: 't',
      });
      const first = await locker()(hub, { waitMs: 0 });
      assert.ok(first.acquired);
      // A second process waits on the hub; its session freezes while it retries.
      const waiting = locker()(hub, { waitMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.freeze();
      // Whichever notices first, the retried query or the session's heartbeat, names the frozen session; nothing after says less.
      await assert.rejects(
        waiting,
        /hub test-hub: sync lock (query|session heartbeat) on mysql at 127\.0\.0\.1: no answer within 0\.5s \(LYNQ_DB_TIMEOUT\)/,
      );
      await first.handle.release();
    } finally {
      await proxy.close();
    }
  });
});

describe('the LISTEN session through a connection that freezes', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });

  test('a frozen session is noticed and opened again, asking one sync for what it missed; later NOTIFYs arrive', async () => {
    const proxy = await startTcpProxy(POSTGRES);
    let notified = 0;
    const hub = hubFor('postgresql', {
      host: '127.0.0.1',
      port: proxy.port,
      username: POSTGRES.user,
      database: db.name,
      table: 't',
      notifyChannel: 'lynq_rows',
    });
    const deps = testDeps(ENV);
    const logs: string[] = [];
    deps.logger = new Proxy(deps.logger, {
      get: (target, name) =>
        name === 'info' || name === 'warn'
          ? (_fields: unknown, msg: string) => logs.push(msg)
          : Reflect.get(target, name),
    });
    const listener = listenForHub(hub, deps, () => notified++)!;
    const sender = new pg.Client({ ...POSTGRES, database: db.name });
    await sender.connect();
    try {
      const until = async (check: () => boolean, what: string) => {
        for (let tries = 0; !check(); tries++) {
          if (tries > 600) throw new Error(`timed out waiting for ${what}: ${logs.join('; ')}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      await until(() => logs.includes('listening for notifications'), 'the first LISTEN');
      await sender.query("NOTIFY lynq_rows, 'x'");
      await until(() => notified === 1, 'the first notification');
      proxy.freeze();
      await until(
        () => logs.includes('notification session dropped; reconnecting'),
        'the frozen session to be noticed',
      );
      await until(
        () => logs.filter((msg) => msg === 'listening for notifications').length === 2 && notified === 2,
        'a new session and one sync for what was missed',
      );
      await sender.query("NOTIFY lynq_rows, 'y'");
      await until(() => notified === 3, 'a notification on the new session');
    } finally {
      await sender.end();
      await listener.stop();
      await proxy.close();
    }
  });
});

describe('lynq serve, a MySQL hub whose connections freeze mid-sync', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createMariadbDatabase();
    await db.exec(
      "CREATE TABLE customers (id varchar(20), active tinyint); INSERT INTO customers VALUES ('acme', 1); CREATE TABLE slow (x int); INSERT INTO slow VALUES (1);",
    );
  });
  after(async () => {
    await db.drop();
  });

  test('the read times out, the lock release returns, the sync counts as failed; the next one ends the stale lock session and publishes', async () => {
    const proxy = await startTcpProxy(MARIADB);
    const remote = await makeBareRepo();
    const query = 'SELECT c.id, c.active FROM customers c WHERE SLEEP(IF((SELECT COUNT(*) FROM slow) > 0, 5, 0)) = 0';
    const w = await world([
      {
        name: 'shop',
        type: 'mysql',
        database: db.name,
        repo: remote.dir,
        interval: NEVER,
        query,
        port: proxy.port,
        queryTimeoutSeconds: 1,
      },
    ]);
    const token = 'webhook-token-0123456789abcdef';
    const proc = serve(w, { ...ENV, LYNQ_WEBHOOK_TOKEN: token }, ['--ready-after', '0', '--no-watch']);
    try {
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync started'), 'the first sync');
      // Both the lock session and the read's connection are open through the proxy now.
      await waitFor(async () => proxy.open() >= 2, 'the lock and the read connected');
      proxy.freeze();
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync finished'), 'the first sync to end');
      assert.equal(proc.logs.find((line) => line.msg === 'sync finished')!.outcome, 'source-failed');
      const url = await proc.url();
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, '/readyz to count the failure');
      await db.exec('DELETE FROM slow');
      const hook = await fetch(`${url}/hooks/sync/shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(hook.status, 202);
      await proc.waitForLog((logs) => logs.filter((line) => line.msg === 'sync finished').length >= 2, 'the next sync');
      assert.equal(proc.logs.filter((line) => line.msg === 'sync finished')[1]!.outcome, 'published');
      assert.ok(proc.logs.some((line) => line.msg === 'sync lock held by a session this process lost; ending it'));
      assert.deepEqual(await nodesIn(remote.dir, 'shop'), ['acme']);
      assert.equal(await stopLynq(proc), 0);
    } finally {
      await stopLynq(proc);
      await proxy.close();
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
