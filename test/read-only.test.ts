import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SourceError } from '../src/errors.ts';
import { readHubRows } from '../src/sources/factory.ts';
import { hasSeveralStatements } from '../src/sources/statements.ts';
import {
  closedPort,
  createMariadbDatabase,
  createPostgresDatabase,
  hubFor,
  MARIADB,
  POSTGRES,
  testDeps,
  type TestDatabase,
} from './helpers/db.ts';

// Row reads only read: whatever a hub's `query` says, the source database is left as it was.

const refusedAsWrite = (error: unknown): boolean =>
  error instanceof SourceError &&
  /the query tried to change data: rows are read in a read-only transaction/.test(error.message);
const refusedAsSeveral = (error: unknown): boolean =>
  error instanceof SourceError &&
  /the query must be a single statement \(a SELECT\): there is more after a ";"/.test(error.message);

describe('several statements are told before anything is sent', () => {
  test('a second statement after ";" is found; ";" inside strings, identifiers, comments and dollar quotes is not', () => {
    for (const sql of [
      'SELECT 1; INSERT INTO t VALUES (1)',
      'SELECT 1;DELETE FROM t',
      "SELECT ';' ; DROP TABLE t",
      'SELECT 1; /* c */ SELECT 2',
      'SELECT 1;\n-- c\nSELECT 2',
    ]) {
      assert.equal(hasSeveralStatements(sql, 'postgresql'), true, sql);
      assert.equal(hasSeveralStatements(sql, 'mysql'), true, sql);
    }
    for (const sql of [
      'SELECT 1',
      'SELECT 1;',
      'SELECT 1 ; ;  ',
      'SELECT \'a;b\', "c;d" FROM t',
      'SELECT 1 -- ; DELETE\n',
      'SELECT 1 /* ; DELETE */',
      "SELECT 'it''s; fine'",
      'SELECT 1; -- trailing comment',
    ]) {
      assert.equal(hasSeveralStatements(sql, 'postgresql'), false, sql);
      assert.equal(hasSeveralStatements(sql, 'mysql'), false, sql);
    }
    assert.equal(hasSeveralStatements('SELECT $x$ ; DELETE $x$, $$;$$', 'postgresql'), false);
    assert.equal(hasSeveralStatements('SELECT /* a /* nested ; */ still */ 1', 'postgresql'), false);
    assert.equal(hasSeveralStatements("SELECT E'\\'; DELETE' AS x", 'postgresql'), false);
    assert.equal(hasSeveralStatements("SELECT 'a\\'; DELETE' AS x", 'mysql'), false);
    assert.equal(hasSeveralStatements('SELECT `a;b` FROM t # ; DELETE', 'mysql'), false);
    assert.equal(hasSeveralStatements('SELECT 1 # c\n; DELETE FROM t', 'mysql'), true);
  });

  test('a query of two statements fails before connecting (the server named is not even there)', async () => {
    for (const type of ['postgresql', 'mysql'] as const) {
      const hub = hubFor(type, {
        host: '127.0.0.1',
        port: await closedPort(),
        username: 'root',
        database: 'x',
        query: 'SELECT id, active FROM t; INSERT INTO victims VALUES (1)',
      });
      await assert.rejects(readHubRows(hub, testDeps()), refusedAsSeveral, type);
    }
  });
});

describe('PostgreSQL: rows are read in a read-only transaction', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  before(async () => {
    db = await createPostgresDatabase();
    await db.exec(`CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('acme', true);
      CREATE TABLE victims (id text); INSERT INTO victims VALUES ('v1'), ('v2');
      CREATE FUNCTION writer() RETURNS text LANGUAGE plpgsql AS $$ BEGIN INSERT INTO victims VALUES ('w'); RETURN 'x'; END $$;`);
    admin = new pg.Client({ ...POSTGRES, database: db.name });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await db.drop();
  });
  const hub = (query: string) =>
    hubFor('postgresql', { host: POSTGRES.host, username: POSTGRES.user, database: db.name, query });
  const victims = async () => Number((await admin.query('SELECT count(*) AS n FROM victims')).rows[0].n);

  test('WITH d AS (DELETE … RETURNING …) SELECT …, a function that writes, DDL: each refused, nothing changed', async () => {
    for (const query of [
      'WITH d AS (DELETE FROM victims RETURNING id) SELECT c.id, c.active FROM customers c',
      'SELECT c.id, c.active FROM customers c WHERE writer() IS NOT NULL',
      'DROP TABLE victims',
      'UPDATE victims SET id = id RETURNING id, true AS active',
    ]) {
      await assert.rejects(readHubRows(hub(query), testDeps()), refusedAsWrite, query);
    }
    assert.equal(await victims(), 2);
  });

  test('SELECT …; INSERT … is refused and the INSERT never runs; a plain SELECT reads as before', async () => {
    await assert.rejects(
      readHubRows(hub("SELECT c.id, c.active FROM customers c; INSERT INTO victims VALUES ('x')"), testDeps()),
      refusedAsSeveral,
    );
    assert.equal(await victims(), 2);
    const rows = await readHubRows(hub('SELECT c.id, c.active FROM customers c;'), testDeps());
    assert.deepEqual(
      rows.map((row) => row.uid),
      ['acme'],
    );
  });
});

describe('MySQL: rows are read in a read-only transaction', () => {
  let db: TestDatabase;
  let admin: mysql.Connection;
  before(async () => {
    db = await createMariadbDatabase();
    await db.exec(
      "CREATE TABLE customers (id varchar(20), active tinyint); INSERT INTO customers VALUES ('acme', 1); CREATE TABLE victims (id varchar(20)); INSERT INTO victims VALUES ('v1'), ('v2');",
    );
    admin = await mysql.createConnection({ ...MARIADB, database: db.name });
  });
  after(async () => {
    await admin.end();
    await db.drop();
  });
  const hub = (query: string) =>
    hubFor('mysql', { host: MARIADB.host, username: MARIADB.user, database: db.name, query });
  const victims = async () =>
    Number(((await admin.query('SELECT count(*) AS n FROM victims')) as unknown as [Array<{ n: number }>])[0][0]!.n);

  test('a DELETE, an UPDATE, DDL: each refused by the server before the "is it a SELECT?" check, nothing changed', async () => {
    for (const query of [
      'DELETE FROM victims',
      "UPDATE victims SET id = 'x'",
      'DROP TABLE victims',
      "INSERT INTO victims VALUES ('x')",
    ]) {
      await assert.rejects(readHubRows(hub(query), testDeps()), refusedAsWrite, query);
    }
    assert.equal(await victims(), 2);
  });

  test('SELECT …; DELETE … is refused and the DELETE never runs; a plain SELECT reads as before', async () => {
    await assert.rejects(
      readHubRows(hub('SELECT c.id, c.active FROM customers c; DELETE FROM victims'), testDeps()),
      refusedAsSeveral,
    );
    assert.equal(await victims(), 2);
    assert.deepEqual(
      (await readHubRows(hub('SELECT c.id, c.active FROM customers c'), testDeps())).map((row) => row.uid),
      ['acme'],
    );
  });
});

describe('pglite: rows are read in a read-only transaction', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-ro-pglite-'));
    await writeFile(
      path.join(dir, 'seed.sql'),
      "CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('acme', true); CREATE TABLE victims (id text); INSERT INTO victims VALUES ('v1');",
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a data-modifying CTE is refused', async () => {
    const hub = hubFor(
      'pglite',
      {
        seedFile: 'seed.sql',
        query: 'WITH d AS (DELETE FROM victims RETURNING id) SELECT c.id, c.active FROM customers c',
      },
      { file: path.join(dir, 'hub.yaml') },
    );
    await assert.rejects(readHubRows(hub, testDeps()), /read-only transaction/);
  });
});
