import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SourceError } from '../src/errors.ts';
import { readHubRows } from '../src/sources/factory.ts';
import {
  createMariadbDatabase,
  createPostgresDatabase,
  hubFor,
  MARIADB,
  POSTGRES,
  testDeps,
  type TestDatabase,
} from './helpers/db.ts';

/**
 * A stopped sync (`lynq serve` shutting down) reaches its database query: the read ends
 * with a SourceError, and the server stops running the query. The query sleeps for 60 s
 * with a 600 s timeout, so neither a timeout nor the query's end can be what stopped it.
 */
type Server = {
  type: 'mysql' | 'postgresql';
  create: () => Promise<TestDatabase>;
  settings: (database: string, query: string) => Record<string, unknown>;
  sleepQuery: (marker: number) => string;
  /** How many sessions run the query with this marker now (other than the one asking). */
  running: (marker: number) => Promise<number>;
};

const servers: Server[] = [
  {
    type: 'mysql',
    create: createMariadbDatabase,
    settings: (database, query) => ({
      host: MARIADB.host,
      port: MARIADB.port,
      username: MARIADB.user,
      database,
      query,
      queryTimeoutSeconds: 600,
    }),
    sleepQuery: (marker) => `SELECT SLEEP(60) AS id, ${marker} AS active`,
    running: async (marker) => {
      const admin = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.user });
      try {
        const [rows] = await admin.query(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ? AND COMMAND <> 'Killed'`,
          [`%${marker} AS active%`],
        );
        return Number((rows as Array<{ n: number }>)[0]!.n);
      } finally {
        await admin.end();
      }
    },
  },
  {
    type: 'postgresql',
    create: createPostgresDatabase,
    settings: (database, query) => ({
      host: POSTGRES.host,
      port: POSTGRES.port,
      username: POSTGRES.user,
      database,
      query,
      queryTimeoutSeconds: 600,
    }),
    sleepQuery: (marker) => `SELECT pg_sleep(60)::text AS id, ${marker} AS active`,
    running: async (marker) => {
      const admin = new pg.Client({ ...POSTGRES, database: 'postgres' });
      await admin.connect();
      try {
        const result = await admin.query(
          `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE $1`,
          [`%${marker} AS active%`],
        );
        return Number(result.rows[0].n);
      } finally {
        await admin.end();
      }
    },
  },
];

for (const server of servers) {
  describe(`${server.type}: a stopped sync stops its query`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await server.create();
    });
    after(async () => {
      await db.drop();
    });

    test('the read ends with a SourceError and the server no longer runs the query', { timeout: 50_000 }, async () => {
      const marker = randomInt(1_000_000, 9_999_999);
      const hub = hubFor(server.type, server.settings(db.name, server.sleepQuery(marker)));
      const controller = new AbortController();
      const reading = readHubRows(hub, testDeps(), controller.signal).catch((error: unknown) => error);
      // Abort once the server is running it (polled, bounded by the test's timeout).
      while ((await server.running(marker)) === 0) await sleep(50);
      controller.abort();
      const error = await reading;
      assert.ok(error instanceof SourceError, String(error));
      assert.match(error.message, /the read was cancelled: the sync was stopped/);
      // Cancelling is asynchronous on the server; it is gone long before the query's own 60 s.
      while ((await server.running(marker)) > 0) await sleep(50);
    });

    test('a signal already stopped reads nothing', async () => {
      const hub = hubFor(server.type, server.settings(db.name, server.sleepQuery(1)));
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        readHubRows(hub, testDeps(), controller.signal),
        (error: unknown) => error === controller.signal.reason,
      );
    });
  });
}
