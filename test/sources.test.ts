// @slow: about 33 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
// A zone far from UTC, so any driver value read in local time shows up as a wrong string.
process.env.TZ = 'America/Los_Angeles';

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hub } from '../src/config/load.ts';
import { ConfigError, problemsOf, SourceError } from '../src/errors.ts';
import { createRowSource, readHubRows } from '../src/sources/factory.ts';
import { toHubRows } from '../src/sources/rows.ts';
import { quoteIdentifier, selectStatement } from '../src/sources/sql.ts';
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

const PG_FIXTURE = `
CREATE TABLE regions (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO regions VALUES (1, 'eu'), (2, 'us');
CREATE TABLE nodes (id text PRIMARY KEY, active boolean NOT NULL, n_int integer, n_big bigint, n_dec numeric(12,4), flag boolean,
  day_on date, at_time timestamp(3), stamp timestamptz, note varchar(200), maybe text, doc jsonb, region_id integer);
INSERT INTO nodes VALUES
  ('acme', true, 42, 9007199254740993, 12345678.9012, false, '2024-02-29', '2024-01-02 03:04:05.678', '2024-01-02 08:04:05+05',
   E'line one\\nline two', NULL, '{"a": 1, "b": [true, null]}', 1),
  ('beta', false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2);
CREATE SCHEMA inventory;
CREATE TABLE inventory.items (id text, active boolean);
INSERT INTO inventory.items VALUES ('from-schema', true);
CREATE TABLE "it's an ""odd"" table" (id text, active boolean);
INSERT INTO "it's an ""odd"" table" VALUES ('quoted', true);
`;

const mysqlFixture = (other: string): string => `
CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL);
INSERT INTO regions VALUES (1, 'eu'), (2, 'us');
CREATE TABLE nodes (id VARCHAR(64) PRIMARY KEY, active TINYINT(1) NOT NULL, n_int INT, n_big BIGINT, n_dec DECIMAL(12,4), flag TINYINT(1),
  day_on DATE, at_time DATETIME(3), stamp TIMESTAMP NULL, note VARCHAR(200), maybe VARCHAR(10), doc JSON, region_id INT);
-- TIMESTAMP is stored in UTC and converted from the session zone: 08:04:05 at +05:00 is 03:04:05Z.
SET time_zone = '+05:00';
INSERT INTO nodes VALUES
  ('acme', 1, 42, 9007199254740993, 12345678.9012, 0, '2024-02-29', '2024-01-02 03:04:05.678', '2024-01-02 08:04:05',
   'line one\\nline two', NULL, '{"a": 1, "b": [true, null]}', 1),
  ('beta', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2);
CREATE TABLE \`${other}\`.items (id VARCHAR(20), active TINYINT(1));
INSERT INTO \`${other}\`.items VALUES ('from-schema', 1);
CREATE TABLE \`it's an \`\`odd\`\` table\` (id VARCHAR(20), active TINYINT(1));
INSERT INTO \`it's an \`\`odd\`\` table\` VALUES ('quoted', 1);
`;

const COLUMNS = [
  'id',
  'active',
  'n_int',
  'n_big',
  'n_dec',
  'flag',
  'day_on',
  'at_time',
  'stamp',
  'note',
  'maybe',
  'doc',
  'region_id',
];
const EXTRA = {
  nInt: 'n_int',
  nBig: 'n_big',
  nDec: 'n_dec',
  flag: 'flag',
  day: 'day_on',
  at: 'at_time',
  stamp: 'stamp',
  note: 'note',
  maybe: 'maybe',
  doc: 'doc',
};
const JOIN_QUERY = 'SELECT n.id, n.active, r.name AS region FROM nodes n JOIN regions r ON r.id = n.region_id';

type Suite = {
  type: 'mysql' | 'postgresql' | 'pglite';
  /** How the dialect's boolean columns read: TINYINT(1) stays 1/0. */
  truthy: string;
  falsy: string;
  schemaTable: () => string;
  oddTable: string;
  sleepQuery: string;
  setup: () => Promise<void>;
  teardown: () => Promise<void>;
  hub: (settings: Record<string, unknown>, extra?: Record<string, string>) => Hub;
};

const uids = (rows: Array<{ uid: string }>): string[] => rows.map((row) => row.uid).sort();

function sourceSuite(suite: Suite): void {
  describe(suite.type, () => {
    before(suite.setup);
    after(suite.teardown);
    const deps = testDeps();

    test('reads a table', async () => {
      const rows = await readHubRows(suite.hub({ table: 'nodes' }), deps);
      assert.deepEqual(rows.map((row) => [row.uid, row.active]).sort(), [
        ['acme', true],
        ['beta', false],
      ]);
    });

    test('reads schema.table', async () => {
      assert.deepEqual(uids(await readHubRows(suite.hub({ table: suite.schemaTable() }), deps)), ['from-schema']);
    });

    test('quotes a table name with a space and quote characters', async () => {
      assert.deepEqual(uids(await readHubRows(suite.hub({ table: suite.oddTable }), deps)), ['quoted']);
    });

    test('runs a query with a JOIN', async () => {
      const rows = await readHubRows(suite.hub({ query: JOIN_QUERY }, { region: 'region' }), deps);
      assert.deepEqual(rows.map((row) => [row.uid, row.values.region]).sort(), [
        ['acme', 'eu'],
        ['beta', 'us'],
      ]);
    });

    test('a query that returns a column name twice is a hub error naming it', async () => {
      const doubled = 'SELECT n.id, n.active, r.id FROM nodes n JOIN regions r ON r.id = n.region_id';
      await assert.rejects(readHubRows(suite.hub({ query: doubled }), deps), /the query returns the column "id" twice/);
    });

    test('returns exact, UTC, string-ready values', async () => {
      assert.notEqual(
        new Date('2024-01-02T03:04:05Z').getTimezoneOffset(),
        0,
        'the process zone must not be UTC for this test',
      );
      const hub = suite.hub({ table: 'nodes' }, EXTRA);
      const source = createRowSource(hub, deps);
      const result = await source.readRows().finally(() => source.close());
      assert.deepEqual(result.columns, COLUMNS);
      const raw = result.rows.find((row) => row.id === 'acme');
      assert.equal(typeof raw?.n_big, 'string', 'BIGINT must not become a lossy number');
      assert.equal(typeof raw?.n_dec, 'string', 'DECIMAL must not become a lossy number');
      const rows = toHubRows(hub, result).sort((a, b) => a.uid.localeCompare(b.uid));
      assert.deepEqual(rows[0]?.values, {
        uid: 'acme',
        activate: suite.truthy,
        nInt: '42',
        nBig: '9007199254740993',
        nDec: '12345678.9012',
        flag: suite.falsy,
        day: '2024-02-29',
        at: '2024-01-02T03:04:05.678Z',
        stamp: '2024-01-02T03:04:05.000Z',
        note: 'line one\nline two',
        maybe: '',
        doc: '{"a":1,"b":[true,null]}',
      });
      const empty = Object.fromEntries(Object.keys(EXTRA).map((key) => [key, '']));
      assert.deepEqual(rows[1]?.values, { ...empty, uid: 'beta', activate: suite.falsy });
      // The keys come sorted: the row hash's JSON is fastest so (render/hash.ts).
      for (const row of rows) assert.deepEqual(Object.keys(row.values), Object.keys(row.values).sort());
    });

    test("names a mapped column that the result lacks: a config error at the mapping's line, with the closest column", async () => {
      const hub = suite.hub({ table: 'nodes' }, { region: 'no_such_column', tier: 'flagg' });
      const error = await readHubRows(hub, deps).catch((e: unknown) => e);
      assert.ok(error instanceof ConfigError, String(error));
      const [region, tier] = problemsOf(error);
      assert.match(region!.message, /"no_such_column" is not in the query result .*: map a column the table has/);
      assert.equal(region!.where.field, 'spec.extraValueMappings.region');
      assert.equal(region!.where.line, hub.lineOf?.(['spec', 'extraValueMappings', 'region']));
      assert.equal(typeof region!.where.line, 'number');
      assert.match(tier!.message, /"flagg" is not in the query result .*did you mean "flag"\?/);
    });

    test('reports bad SQL and a missing table', async () => {
      await assert.rejects(
        readHubRows(suite.hub({ query: 'SELEC id FROM nodes' }), deps),
        (e) => e instanceof SourceError && /query failed on/.test(e.message) && e.where.hub === 'test-hub',
      );
      await assert.rejects(
        readHubRows(suite.hub({ table: 'no_such_table' }), deps),
        (e) => e instanceof SourceError && /no_such_table/.test(e.message),
      );
    });

    // That closing does not wait for the slow query either is checked on the server itself, in
    // source-bounds.test.ts (MySQL's process list) and source-abort.test.ts; no clock is read here.
    test('stops a query at queryTimeoutSeconds', async () => {
      const source = createRowSource(suite.hub({ query: suite.sleepQuery, queryTimeoutSeconds: 1 }), deps);
      const error = await source.readRows().catch((e: unknown) => e);
      await source.close();
      assert.ok(error instanceof SourceError, String(error));
      assert.match(error.message, /query timed out after 1s/);
    });
  });
}

let mariadb: TestDatabase | undefined;
let mariadbOther: TestDatabase | undefined;
const mysqlHub = (settings: Record<string, unknown>, extra?: Record<string, string>): Hub =>
  hubFor(
    'mysql',
    { host: MARIADB.host, port: MARIADB.port, username: MARIADB.user, database: mariadb?.name, ...settings },
    { extraValueMappings: extra },
  );

sourceSuite({
  type: 'mysql',
  truthy: '1',
  falsy: '0',
  oddTable: "it's an `odd` table",
  sleepQuery: 'SELECT SLEEP(3) AS id, 1 AS active',
  schemaTable: () => `${mariadbOther?.name}.items`,
  setup: async () => {
    const [main, other] = await Promise.all([createMariadbDatabase(), createMariadbDatabase()]);
    [mariadb, mariadbOther] = [main, other];
    await main.exec(mysqlFixture(other.name));
  },
  teardown: async () => {
    await Promise.all([mariadb?.drop(), mariadbOther?.drop()]);
    [mariadb, mariadbOther] = [undefined, undefined];
  },
  hub: mysqlHub,
});

let postgres: TestDatabase | undefined;
const pgHub = (settings: Record<string, unknown>, extra?: Record<string, string>): Hub =>
  hubFor(
    'postgresql',
    { host: POSTGRES.host, port: POSTGRES.port, username: POSTGRES.user, database: postgres?.name, ...settings },
    { extraValueMappings: extra },
  );

sourceSuite({
  type: 'postgresql',
  truthy: 'true',
  falsy: 'false',
  oddTable: `it's an "odd" table`,
  sleepQuery: 'SELECT pg_sleep(3)',
  schemaTable: () => 'inventory.items',
  setup: async () => {
    postgres = await createPostgresDatabase();
    await postgres.exec(PG_FIXTURE);
  },
  teardown: async () => {
    await postgres?.drop();
    postgres = undefined;
  },
  hub: pgHub,
});

// pglite reads its fixture from a seed file next to the hub file, into a data directory there.
const pgliteHub = (hubDir: string, settings: Record<string, unknown>, extra?: Record<string, string>): Hub =>
  hubFor(
    'pglite',
    { dataDir: 'data', seedFile: 'seed.sql', ...settings },
    { file: path.join(hubDir, 'hub.yaml'), extraValueMappings: extra },
  );
let scratch = '';

sourceSuite({
  type: 'pglite',
  truthy: 'true',
  falsy: 'false',
  oddTable: `it's an "odd" table`,
  sleepQuery: 'SELECT pg_sleep(3)',
  schemaTable: () => 'inventory.items',
  setup: async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'lynq-pglite-'));
    await mkdir(path.join(scratch, 'hubs'));
    await writeFile(path.join(scratch, 'hubs', 'seed.sql'), PG_FIXTURE);
  },
  teardown: () => rm(scratch, { recursive: true, force: true }),
  hub: (settings, extra) => pgliteHub(path.join(scratch, 'hubs'), settings, extra),
});

// These fail before any table is read, so the servers' standing `test` database is enough.
const serverHubs = {
  mysql: (settings: Record<string, unknown>, extra?: Record<string, string>) =>
    mysqlHub({ database: 'test', ...settings }, extra),
  postgresql: (settings: Record<string, unknown>, extra?: Record<string, string>) =>
    pgHub({ database: 'test', ...settings }, extra),
};

describe('server connections', () => {
  const password = 'not-the-password-5d1f9a';
  const passwordRef = { env: 'LYNQ_TEST_DB_PASSWORD' };

  for (const type of ['mysql', 'postgresql'] as const) {
    const hub = serverHubs[type];
    // A refused connection fails at once, not after connectTimeoutSeconds (300 s here): the
    // test's own timeout, far below it, is what would catch a wait; no clock is read.
    test(`${type}: an unreachable server fails fast with a plain message`, { timeout: 60_000 }, async () => {
      const port = await closedPort();
      await assert.rejects(readHubRows(hub({ table: 'nodes', port, connectTimeoutSeconds: 300 }), testDeps()), (e) => {
        assert.ok(e instanceof SourceError);
        assert.match(e.message, new RegExp(`cannot connect to ${type} at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
        return true;
      });
    });

    test(`${type}: TLS is requested when enabled, and its files must exist`, async () => {
      // The test servers have TLS off, so a request for it is refused: proof that it was made.
      await assert.rejects(
        readHubRows(hub({ table: 'nodes', tls: { rejectUnauthorized: false } }), testDeps()),
        (e) => e instanceof SourceError && /does not support/i.test(e.message),
      );
      const missing = hub({ table: 'nodes', tls: { caFile: 'no-such-ca.pem' } });
      await assert.rejects(
        readHubRows(missing, testDeps()),
        (e) => e instanceof SourceError && /cannot read TLS ca file .*no-such-ca\.pem/.test(e.message),
      );
    });

    test(`${type}: a missing password variable is a config error naming it`, async () => {
      await assert.rejects(
        readHubRows(hub({ table: 'nodes', passwordRef }), testDeps()),
        (e) => e instanceof ConfigError && /LYNQ_TEST_DB_PASSWORD is not set/.test(e.message),
      );
    });
  }

  test('mysql: a wrong password is refused without showing it', async () => {
    const error = await readHubRows(
      serverHubs.mysql({ table: 'nodes', passwordRef }),
      testDeps({ LYNQ_TEST_DB_PASSWORD: password }),
    ).catch((e: unknown) => e);
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /cannot connect to mysql .*Access denied/);
    assert.ok(!error.message.includes(password));
  });

  test('mysql: the session reads TIMESTAMP in UTC whatever the server zone', async () => {
    const rows = await readHubRows(
      serverHubs.mysql({ query: "SELECT 'x' AS id, 1 AS active, @@session.time_zone AS tz" }, { tz: 'tz' }),
      testDeps(),
    );
    assert.equal(rows[0]?.values.tz, '+00:00');
  });

  test('postgresql: a refused login does not show the password', async () => {
    // The test server trusts every login, so an unknown role is what makes it refuse.
    const hub = serverHubs.postgresql({ table: 'nodes', passwordRef, username: 'lynq_no_such_role' });
    const error = await readHubRows(hub, testDeps({ LYNQ_TEST_DB_PASSWORD: password })).catch((e: unknown) => e);
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /cannot connect to postgresql .*lynq_no_such_role/);
    assert.ok(!error.message.includes(password));
  });
});

describe('pglite seeding', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-pglite-seeding-'));
    // IF NOT EXISTS: a second run of the seed would succeed and show up as a second row.
    await writeFile(
      path.join(dir, 'count.sql'),
      'CREATE TABLE IF NOT EXISTS seed_runs (n integer); INSERT INTO seed_runs VALUES (1);',
    );
    await writeFile(path.join(dir, 'bad.sql'), 'CREATE TABLE fine (n integer); THIS IS NOT SQL;');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const countQuery = "SELECT 'x' AS id, true AS active, count(*) AS runs FROM seed_runs";
  const runs = async (hub: Hub): Promise<string | undefined> => (await readHubRows(hub, testDeps()))[0]?.values.runs;

  test('seeds a new data directory once', async () => {
    const hub = pgliteHub(dir, { dataDir: 'db', seedFile: 'count.sql', query: countQuery }, { runs: 'runs' });
    assert.equal(await runs(hub), '1');
    assert.ok((await readdir(path.join(dir, 'db'))).length > 0);
    assert.equal(await runs(hub), '1');
  });

  test('seeds an in-memory database on every run', async () => {
    const hub = pgliteHub(dir, { dataDir: undefined, seedFile: 'count.sql', query: countQuery }, { runs: 'runs' });
    assert.equal(await runs(hub), '1');
    assert.equal(await runs(hub), '1');
  });

  test('a failed seed leaves no half-seeded directory behind', async () => {
    const hub = pgliteHub(dir, { dataDir: 'broken', seedFile: 'bad.sql', table: 'fine' });
    await assert.rejects(
      readHubRows(hub, testDeps()),
      (e) => e instanceof SourceError && /seed file .*bad\.sql failed/.test(e.message),
    );
    assert.deepEqual(await readdir(path.join(dir, 'broken')), []);
  });

  test('a data directory that is a file is a source error', async () => {
    const hub = pgliteHub(dir, { dataDir: 'count.sql', table: 'seed_runs' });
    await assert.rejects(
      readHubRows(hub, testDeps()),
      (e) => e instanceof SourceError && /cannot use pglite data directory/.test(e.message),
    );
  });
});

describe('identifier quoting', () => {
  test('quotes each part and doubles quote characters', () => {
    assert.equal(quoteIdentifier('inv.items', 'mysql'), '`inv`.`items`');
    assert.equal(quoteIdentifier('we`ird; DROP TABLE x', 'mysql'), '`we``ird; DROP TABLE x`');
    assert.equal(quoteIdentifier('it\'s "odd"', 'postgresql'), '"it\'s ""odd"""');
    assert.equal(selectStatement({ table: 'a.b' }, 'postgresql'), 'SELECT * FROM "a"."b"');
    assert.equal(selectStatement({ query: 'SELECT 1' }, 'mysql'), 'SELECT 1');
  });

  test('refuses empty name parts', () => {
    for (const name of ['.items', 'a..b', 'inv.'])
      assert.throws(() => quoteIdentifier(name, 'postgresql'), SourceError);
  });
});

test('hostOrUrl also gives `host` (the host name of a URL, or the value itself), and every row has its variables in sorted order', () => {
  const hub = {
    name: 'h',
    file: 'hubs/h.yaml',
    spec: {
      valueMappings: { uid: 'id', activate: 'on', hostOrUrl: 'url' },
      extraValueMappings: { zone: 'z', hostA: 'a' },
    },
  } as unknown as Hub;
  const rows = toHubRows(hub, {
    columns: ['id', 'on', 'url', 'a', 'z'],
    rows: [
      { id: 'x', on: true, url: 'https://X.example.com:8443/path', a: 'A', z: 'eu' },
      { id: 'y', on: false, url: 'y.example.com', a: null, z: 'us' },
    ],
  });
  assert.deepEqual(
    rows.map((row) => Object.entries(row.values)),
    [
      [
        ['activate', 'true'],
        ['host', 'x.example.com'],
        ['hostA', 'A'],
        ['hostOrUrl', 'https://X.example.com:8443/path'],
        ['uid', 'x'],
        ['zone', 'eu'],
      ],
      [
        ['activate', 'false'],
        ['host', 'y.example.com'],
        ['hostA', ''],
        ['hostOrUrl', 'y.example.com'],
        ['uid', 'y'],
        ['zone', 'us'],
      ],
    ],
  );
  assert.deepEqual(
    rows.map((row) => [row.uid, row.active]),
    [
      ['x', true],
      ['y', false],
    ],
  );
});
