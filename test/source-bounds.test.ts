import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { ConfigError, SourceError } from '../src/errors.ts';
import { createRowSource } from '../src/sources/factory.ts';
import { createMariadbDatabase, hubFor, MARIADB, testDeps, type TestDatabase } from './helpers/db.ts';

/** TCP sockets this process still has open (what keeps it from exiting). */
const openSockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;

describe('a MySQL query timeout ends the query and the connection, not only the wait', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createMariadbDatabase();
  });
  after(async () => {
    await db.drop();
  });

  test('the server no longer runs the query, and no socket is left open', async () => {
    const marker = randomInt(1_000_000, 9_999_999);
    const query = `SELECT SLEEP(60) AS id, ${marker} AS active`;
    const sockets = openSockets();
    const source = createRowSource(
      hubFor('mysql', {
        host: MARIADB.host,
        port: MARIADB.port,
        username: MARIADB.user,
        database: db.name,
        query,
        queryTimeoutSeconds: 1,
      }),
      testDeps(),
    );
    const error = await source.readRows().catch((e: unknown) => e);
    await source.close();
    assert.ok(error instanceof SourceError, String(error));
    assert.match(error.message, /query timed out after 1s/);
    // A destroyed socket's handle is freed on the next turns of the event loop.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(openSockets(), sockets, 'the timed-out connection is closed, not half-closed waiting for the server');
    const admin = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.user });
    try {
      // KILL QUERY is asynchronous on the server: the query's state turns to killed at once, the row goes soon after.
      const [rows] = await admin.query(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ? AND COMMAND <> 'Killed'`,
        [`%${marker} AS active%`],
      );
      const running = Number((rows as Array<{ n: number }>)[0]!.n);
      assert.equal(running, 0, 'the slow query was stopped on the server');
    } finally {
      await admin.end();
    }
  });
});

describe('source timeouts out of range are config errors', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ connectTimeoutSeconds: 2_200_000 }, /connectTimeoutSeconds/],
    [{ connectTimeoutSeconds: 0 }, /connectTimeoutSeconds/],
    [{ queryTimeoutSeconds: 1e-9 }, /queryTimeoutSeconds/],
    [{ queryTimeoutSeconds: 1e12 }, /queryTimeoutSeconds/],
  ];
  for (const type of ['mysql', 'postgresql'] as const) {
    for (const [settings, field] of cases) {
      test(`${type}: ${JSON.stringify(settings)}`, () => {
        assert.throws(
          () => hubFor(type, { database: 'test', table: 't', ...settings }),
          (error: unknown) =>
            error instanceof ConfigError && field.test(error.message) && /test-hub\.yaml/.test(error.message),
        );
      });
    }
  }
  test('pglite: queryTimeoutSeconds 1e-9', () => {
    assert.throws(
      () => hubFor('pglite', { table: 't', queryTimeoutSeconds: 1e-9 }),
      (error: unknown) => error instanceof ConfigError && /queryTimeoutSeconds/.test(error.message),
    );
  });
  test('values in range still load', () => {
    assert.equal(
      hubFor('mysql', { database: 'test', table: 't', connectTimeoutSeconds: 3600, queryTimeoutSeconds: 86_400 }).spec
        .source.mysql?.queryTimeoutSeconds,
      86_400,
    );
  });
});
