import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parseHub, type Hub } from '../src/config/load.ts';
import type { NodeHealth } from '../src/health/read-back.ts';
import { statusTableDdl, writeStatusTable } from '../src/health/status-table.ts';
import { ConfigError, SourceError } from '../src/errors.ts';
import {
  createMariadbDatabase,
  createPostgresDatabase,
  MARIADB,
  POSTGRES,
  testDeps,
  type TestDatabase,
} from './helpers/db.ts';

function hub(type: 'mysql' | 'postgresql', database: string, writeback: string): Hub {
  const server = type === 'mysql' ? MARIADB : POSTGRES;
  return parseHub(
    'hubs/shop.yaml',
    `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata: { name: shop }
spec:
  source:
    type: ${type}
    ${type}: { host: ${server.host}, port: ${server.port}, username: ${server.user}, database: ${database}, table: customers }
  valueMappings: { uid: id, activate: active }
  statusWriteback: ${writeback}
`,
  );
}

function health(
  uid: string,
  phase: NodeHealth['phase'],
  options: { commit?: string; pullRequest?: number; message?: string; form?: string; leadTimeSeconds?: number } = {},
): NodeHealth {
  return {
    hub: 'shop',
    form: options.form ?? 'web',
    uid,
    name: `${uid}-web`,
    namespace: 'default',
    phase,
    applied: phase === 'Ready',
    reason: 'x',
    message: options.message ?? `${phase.toLowerCase()} message`,
    commit:
      options.commit === undefined
        ? undefined
        : { commit: options.commit, time: 1_700_000_000, pullRequest: undefined },
    pullRequest: options.pullRequest === undefined ? undefined : { number: options.pullRequest, state: 'open' },
    appliedRevision: undefined,
    resources: { desired: 1, ready: phase === 'Ready' ? 1 : 0, failed: 0 },
    resourcePhases: [],
    engineObjects: [],
    formHash: null,
    ...(options.leadTimeSeconds === undefined
      ? {}
      : {
          leadTime: {
            commit: options.commit ?? SHA,
            seenAt: '2026-01-01T00:00:00.000Z',
            committedAt: '2026-01-01T00:00:00.000Z',
            seconds: options.leadTimeSeconds,
          },
        }),
  };
}

const SHA = 'a'.repeat(40);

for (const type of ['mysql', 'postgresql'] as const) {
  describe(`the status table on the real ${type === 'mysql' ? 'MariaDB' : 'PostgreSQL'}`, () => {
    let db: TestDatabase;
    let read: (sql: string) => Promise<Array<Record<string, unknown>>>;
    let close: () => Promise<void>;

    before(async () => {
      db = type === 'mysql' ? await createMariadbDatabase() : await createPostgresDatabase();
      if (type === 'mysql') {
        const connection = await mysql.createConnection({ ...MARIADB, database: db.name });
        read = async (sql) => (await connection.query(sql))[0] as Array<Record<string, unknown>>;
        close = () => connection.end();
      } else {
        const client = new pg.Client({ ...POSTGRES, database: db.name });
        await client.connect();
        read = async (sql) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
        close = () => client.end();
      }
    });
    after(async () => {
      await close?.();
      await db?.drop();
    });

    test('created when missing, one row per node; only changed rows are written again; rows of removed nodes are deleted', async () => {
      const target = hub(type, db.name, '{ table: lynq_status }');
      const q = type === 'mysql' ? '`' : '"';
      const rows = async () =>
        (
          await read(
            `SELECT hub, form, uid, phase, ready, message, ${q}commit${q} AS c, pull_request, updated_at FROM lynq_status ORDER BY uid`,
          )
        ).map((row) => [
          row.hub,
          row.form,
          row.uid,
          row.phase,
          Boolean(row.ready),
          row.message,
          row.c,
          row.pull_request,
          String(row.updated_at),
        ]);
      assert.deepEqual(
        await writeStatusTable(
          target,
          [
            health('acme', 'Ready', { commit: SHA }),
            health('globex', 'Degraded', { pullRequest: 12 }),
            health('hooli', 'Progressing'),
          ],
          testDeps(),
        ),
        {
          upserted: 3,
          deleted: 0,
        },
      );
      const first = await rows();
      assert.deepEqual(
        first.map((row) => row.slice(0, 8)),
        [
          ['shop', 'web', 'acme', 'Ready', true, 'ready message', SHA, null],
          ['shop', 'web', 'globex', 'Degraded', false, 'degraded message', null, 12],
          ['shop', 'web', 'hooli', 'Progressing', false, 'progressing message', null, null],
        ],
      );
      // Same health again: nothing written, updated_at kept.
      assert.deepEqual(
        await writeStatusTable(
          target,
          [
            health('acme', 'Ready', { commit: SHA }),
            health('globex', 'Degraded', { pullRequest: 12 }),
            health('hooli', 'Progressing'),
          ],
          testDeps(),
        ),
        {
          upserted: 0,
          deleted: 0,
        },
      );
      assert.deepEqual(await rows(), first);
      // globex recovers, hooli's node is gone: one upsert, one delete.
      assert.deepEqual(
        await writeStatusTable(
          target,
          [health('acme', 'Ready', { commit: SHA }), health('globex', 'Ready', { commit: SHA })],
          testDeps(),
        ),
        { upserted: 1, deleted: 1 },
      );
      const last = await rows();
      assert.deepEqual(
        last.map((row) => row.slice(2, 8)),
        [
          ['acme', 'Ready', true, 'ready message', SHA, null],
          ['globex', 'Ready', true, 'ready message', SHA, null],
        ],
      );
      assert.equal(last[0]![8], first[0]![8], 'an unchanged row keeps its updated_at');
    });

    test('a table the user made from the DDL of docs/health.md (in another schema) is used as is; a missing one with create: false is a clear error', async () => {
      const schema = type === 'mysql' ? db.name : 'lynq';
      if (type === 'postgresql') await db.exec('CREATE SCHEMA lynq');
      await db.exec(statusTableDdl(type, 'node_status', schema));
      const page = await readFile('docs/health.md', 'utf8');
      assert.ok(page.includes(statusTableDdl(type, 'lynq_node_status')), 'docs/health.md shows this DDL');
      const target = hub(type, db.name, `{ table: node_status, schema: ${schema}, create: false }`);
      assert.deepEqual(
        await writeStatusTable(target, [health('acme', 'Missing', { message: 'x'.repeat(5000) })], testDeps()),
        { upserted: 1, deleted: 0 },
      );
      const [row] = await read(
        `SELECT message FROM ${type === 'mysql' ? `\`${schema}\`.\`node_status\`` : 'lynq.node_status'}`,
      );
      assert.equal(String(row!.message).length, 1000, 'long engine messages are cut');
      const missing = hub(type, db.name, '{ table: nowhere, create: false }');
      await assert.rejects(writeStatusTable(missing, [health('acme', 'Ready')], testDeps()), (error: unknown) => {
        assert.ok(error instanceof SourceError);
        assert.match(
          error.message,
          /^hubs\/shop\.yaml, hub shop, field spec\.statusWriteback: reading the status table .nowhere. failed: /,
        );
        return true;
      });
    });

    test('a table made before lead times (no lead_time_seconds) gets the column with create, keeping its rows; with create: false it is written without it', async () => {
      const q = type === 'mysql' ? '`' : '"';
      const old = (table: string) =>
        statusTableDdl(type, table).replace(`  ${q}lead_time_seconds${q} integer NULL,\n`, '');
      for (const table of ['old_status', 'users_status']) {
        await db.exec(old(table));
        await db.exec(
          `INSERT INTO ${table} (hub, form, uid, phase, ready, message) VALUES ('shop', 'web', 'acme', 'Progressing', false, 'progressing message')`,
        );
      }
      const columns = async (table: string) =>
        (
          await read(
            `SELECT column_name AS name FROM information_schema.columns WHERE table_name = '${table}' AND table_schema = ${type === 'mysql' ? 'DATABASE()' : 'current_schema()'}`,
          )
        ).map((row) => String(row.name));
      assert.ok(!(await columns('old_status')).includes('lead_time_seconds'));

      const owned = hub(type, db.name, '{ table: old_status }');
      assert.deepEqual(
        await writeStatusTable(
          owned,
          [health('acme', 'Ready', { commit: SHA, leadTimeSeconds: 252 }), health('globex', 'Progressing')],
          testDeps(),
        ),
        { upserted: 2, deleted: 0 },
      );
      assert.ok((await columns('old_status')).includes('lead_time_seconds'), 'the column was added');
      const rows = async (table: string) =>
        (await read(`SELECT uid, phase, lead_time_seconds FROM ${table} ORDER BY uid`)).map((row) => [
          row.uid,
          row.phase,
          row.lead_time_seconds,
        ]);
      assert.deepEqual(await rows('old_status'), [
        ['acme', 'Ready', 252],
        ['globex', 'Progressing', null],
      ]);
      // Added once: the next write finds it, and a lead time that changes alone is written.
      assert.deepEqual(
        await writeStatusTable(
          owned,
          [health('acme', 'Ready', { commit: SHA, leadTimeSeconds: 300 }), health('globex', 'Progressing')],
          testDeps(),
        ),
        { upserted: 1, deleted: 0 },
      );
      assert.deepEqual((await rows('old_status'))[0], ['acme', 'Ready', 300]);

      const theirs = hub(type, db.name, '{ table: users_status, create: false }');
      assert.deepEqual(
        await writeStatusTable(theirs, [health('acme', 'Ready', { commit: SHA, leadTimeSeconds: 252 })], testDeps()),
        { upserted: 1, deleted: 0 },
      );
      assert.ok(
        !(await columns('users_status')).includes('lead_time_seconds'),
        'a table the bridge does not own is not altered',
      );
      assert.deepEqual(
        (await read('SELECT phase FROM users_status')).map((row) => row.phase),
        ['Ready'],
      );
    });

    test('rows of other hubs in the same table are left alone', async () => {
      const target = hub(type, db.name, '{ table: shared_status }');
      await writeStatusTable(target, [health('acme', 'Ready')], testDeps());
      await db.exec(
        `INSERT INTO shared_status (hub, form, uid, phase, ready, message) VALUES ('other', 'web', 'acme', 'Ready', true, '')`,
      );
      assert.deepEqual(await writeStatusTable(target, [], testDeps()), { upserted: 0, deleted: 1 });
      assert.deepEqual(
        (await read('SELECT hub FROM shared_status')).map((row) => row.hub),
        ['other'],
      );
    });
  });
}

test('statusWriteback: identifiers are checked, and an embedded pglite hub cannot have one', () => {
  assert.throws(
    () => hub('postgresql', 'x', '{ table: "bad; drop" }'),
    (error: unknown) =>
      error instanceof ConfigError &&
      /spec\.statusWriteback\.table/.test(error.message) &&
      /must be an SQL identifier/.test(error.message),
  );
  assert.throws(
    () =>
      parseHub(
        'hubs/demo.yaml',
        'apiVersion: operator.lynq.sh/v1\nkind: LynqHub\nmetadata: { name: demo }\nspec:\n  source: { type: pglite, pglite: { table: t } }\n  valueMappings: { uid: id, activate: active }\n  statusWriteback: { table: s }\n',
      ),
    (error: unknown) =>
      error instanceof ConfigError &&
      /statusWriteback/.test(error.message) &&
      /needs a mysql or postgresql source/.test(error.message),
  );
});
