import type { Connection } from 'mysql2/promise';
import type pg from 'pg';
import type { StatusWriteback } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { ConfigError, SourceError } from '../errors.ts';
import type { SourceDeps } from '../sources/types.ts';
import { connectMysql } from '../sources/mysql.ts';
import { connectPostgresql } from '../sources/postgresql.ts';
import { causeText } from '../sources/sql.ts';
import type { NodeHealth } from './read-back.ts';

type Dialect = 'mysql' | 'postgresql';
const BATCH = 500;
/** Long engine messages (a kustomize build error) are cut: the row says what, the LynqNode and `lynq status` say all. */
const MESSAGE_LIMIT = 1000;

/**
 * The status table's DDL, as the bridge runs it (`create: true`) and as docs/health.md
 * prints it for users who create the table themselves. Identifiers are checked by the hub
 * schema (letters, digits, `_`), so quoting them cannot be escaped.
 */
export function statusTableDdl(dialect: Dialect, table: string, schema?: string): string {
  const q = quoter(dialect);
  const name = schema === undefined ? q(table) : `${q(schema)}.${q(table)}`;
  const updated =
    dialect === 'mysql' ? 'timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)' : 'timestamptz NOT NULL DEFAULT now()';
  return `CREATE TABLE IF NOT EXISTS ${name} (
  ${q('hub')} varchar(63) NOT NULL,
  ${q('form')} varchar(63) NOT NULL,
  ${q('uid')} varchar(63) NOT NULL,
  ${q('phase')} varchar(16) NOT NULL,
  ${q('ready')} boolean NOT NULL,
  ${q('message')} text NOT NULL,
  ${q('commit')} char(40) NULL,
  ${q('pull_request')} integer NULL,
  ${q('lead_time_seconds')} integer NULL,
  ${q('updated_at')} ${updated},
  PRIMARY KEY (${q('hub')}, ${q('form')}, ${q('uid')})
)`;
}

type Row = {
  form: string;
  uid: string;
  phase: string;
  ready: boolean;
  message: string;
  commit: string | null;
  pull_request: number | null;
  lead_time_seconds: number | null;
};

/** The column added in 0.5.0: a table made before it gets it (`create`), or is written without it. */
const LEAD_TIME_COLUMN = 'lead_time_seconds';

/** A tiny adapter over the two drivers: the statements differ only in placeholders and the upsert clause. */
type Db = { query(sql: string, values?: unknown[]): Promise<Array<Record<string, unknown>>>; close(): Promise<void> };

/**
 * Write one row per node into the hub's status table (spec.statusWriteback), in one
 * transaction: rows whose phase, readiness, message, commit, pull request or lead time changed are
 * upserted (their updated_at says when that happened), rows of nodes that are gone are
 * deleted, and the table is created when missing (`create`). Uses the hub's own source
 * connection settings and credentials.
 */
export async function writeStatusTable(
  hub: Hub,
  nodes: readonly NodeHealth[],
  deps: SourceDeps,
): Promise<{ upserted: number; deleted: number }> {
  const settings = hub.spec.statusWriteback;
  const where = { hub: hub.name, file: hub.file, field: 'spec.statusWriteback' };
  if (settings === undefined) return { upserted: 0, deleted: 0 };
  const type = hub.spec.source.type;
  if (type !== 'mysql' && type !== 'postgresql')
    throw new ConfigError('statusWriteback needs a mysql or postgresql source', where);
  const source = hub.spec.source[type];
  if (source === undefined) throw new ConfigError(`spec.source.${type} is required`, where);
  const db =
    type === 'mysql'
      ? mysqlDb(await connectMysql(hub, source, deps))
      : postgresDb(await connectPostgresql(hub, source, deps));
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const table = tableName(type, settings);
  try {
    if (settings.create)
      await run(
        db,
        statusTableDdl(type, settings.table, settings.schema),
        [],
        `creating the status table ${table}`,
        where,
        scrub,
      );
    const leadTime = await leadTimeColumn(db, type, settings, table, where, scrub);
    return await sync(db, type, table, hub.name, nodes.map(toRow), leadTime, where, scrub);
  } finally {
    await db.close();
  }
}

/**
 * Whether the table has the lead_time_seconds column; a table created before 0.5.0 gets it
 * (`create`: the bridge owns the table), else is written without it (the user's DDL; the
 * docs' has it). information_schema, not ADD COLUMN IF NOT EXISTS: MySQL has no such clause.
 */
async function leadTimeColumn(
  db: Db,
  dialect: Dialect,
  settings: StatusWriteback,
  table: string,
  where: Record<string, string>,
  scrub: (text: string) => string,
): Promise<boolean> {
  const p = placeholder(dialect);
  const current = dialect === 'mysql' ? 'DATABASE()' : 'current_schema()';
  const has = async (): Promise<boolean> =>
    (
      await run(
        db,
        `SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(${p(1)}, ${current}) AND table_name = ${p(2)} AND column_name = ${p(3)}`,
        [settings.schema ?? null, settings.table, LEAD_TIME_COLUMN],
        `reading the columns of the status table ${table}`,
        where,
        scrub,
      )
    ).length > 0;
  if (await has()) return true;
  if (!settings.create) return false;
  const q = quoter(dialect);
  try {
    await db.query(`ALTER TABLE ${table} ADD COLUMN ${q(LEAD_TIME_COLUMN)} integer NULL`);
  } catch (cause) {
    // Another bridge process may have added it in between.
    if (await has()) return true;
    throw new SourceError(
      `adding ${LEAD_TIME_COLUMN} to the status table ${table} failed: ${causeText(cause, scrub)}`,
      where,
      { cause },
    );
  }
  return true;
}

async function sync(
  db: Db,
  dialect: Dialect,
  table: string,
  hub: string,
  rows: Row[],
  withLeadTime: boolean,
  where: Record<string, string>,
  scrub: (text: string) => string,
): Promise<{ upserted: number; deleted: number }> {
  const q = quoter(dialect);
  const p = placeholder(dialect);
  const columns: ReadonlyArray<keyof Row> = [
    'form',
    'uid',
    'phase',
    'ready',
    'message',
    'commit',
    'pull_request',
    ...(withLeadTime ? (['lead_time_seconds'] as const) : []),
  ];
  await run(db, dialect === 'mysql' ? 'START TRANSACTION' : 'BEGIN', [], 'starting a transaction', where, scrub);
  try {
    const existing = await run(
      db,
      `SELECT ${columns.map(q).join(', ')} FROM ${table} WHERE ${q('hub')} = ${p(1)}`,
      [hub],
      `reading the status table ${table}`,
      where,
      scrub,
    );
    const before = new Map(existing.map((row) => [`${String(row.form)}/${String(row.uid)}`, row]));
    const changed = rows.filter((row) => {
      const old = before.get(`${row.form}/${row.uid}`);
      return (
        old === undefined ||
        String(old.phase) !== row.phase ||
        Boolean(old.ready) !== row.ready ||
        String(old.message) !== row.message ||
        (old.commit ?? null) !== row.commit ||
        nullableNumber(old.pull_request) !== row.pull_request ||
        (withLeadTime && nullableNumber(old.lead_time_seconds) !== row.lead_time_seconds)
      );
    });
    const keep = new Set(rows.map((row) => `${row.form}/${row.uid}`));
    const gone = [...before.keys()].filter((key) => !keep.has(key)).map((key) => key.split('/') as [string, string]);
    const names = ['hub', ...columns];
    const updates = columns.filter((column) => column !== 'form' && column !== 'uid').concat([]);
    const upsert =
      dialect === 'mysql'
        ? `ON DUPLICATE KEY UPDATE ${[...updates.map((column) => `${q(column)} = VALUES(${q(column)})`), `${q('updated_at')} = CURRENT_TIMESTAMP(3)`].join(', ')}`
        : `ON CONFLICT (${q('hub')}, ${q('form')}, ${q('uid')}) DO UPDATE SET ${[...updates.map((column) => `${q(column)} = EXCLUDED.${q(column)}`), `${q('updated_at')} = now()`].join(', ')}`;
    for (let start = 0; start < changed.length; start += BATCH) {
      const batch = changed.slice(start, start + BATCH);
      const values: unknown[] = [];
      const tuples = batch.map((row) => {
        const cells = [hub, ...columns.map((column) => row[column])];
        const at = values.length;
        values.push(...cells);
        return `(${cells.map((_, i) => p(at + i + 1)).join(', ')})`;
      });
      await run(
        db,
        `INSERT INTO ${table} (${names.map(q).join(', ')}) VALUES ${tuples.join(', ')} ${upsert}`,
        values,
        `writing the status table ${table}`,
        where,
        scrub,
      );
    }
    for (let start = 0; start < gone.length; start += BATCH) {
      const batch = gone.slice(start, start + BATCH);
      const values: unknown[] = [hub];
      const pairs = batch.map(([form, uid]) => {
        values.push(form, uid);
        return `(${q('form')} = ${p(values.length - 1)} AND ${q('uid')} = ${p(values.length)})`;
      });
      await run(
        db,
        `DELETE FROM ${table} WHERE ${q('hub')} = ${p(1)} AND (${pairs.join(' OR ')})`,
        values,
        `deleting from the status table ${table}`,
        where,
        scrub,
      );
    }
    await run(db, 'COMMIT', [], 'committing the status table', where, scrub);
    return { upserted: changed.length, deleted: gone.length };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function toRow(node: NodeHealth): Row {
  return {
    form: node.form,
    uid: node.uid,
    phase: node.phase,
    ready: node.phase === 'Ready',
    message: node.message.length > MESSAGE_LIMIT ? `${node.message.slice(0, MESSAGE_LIMIT - 1)}…` : node.message,
    commit: node.commit?.commit ?? null,
    pull_request: node.pullRequest?.number ?? null,
    lead_time_seconds: node.leadTime?.seconds ?? null,
  };
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

async function run(
  db: Db,
  sql: string,
  values: unknown[],
  action: string,
  where: Record<string, string>,
  scrub: (text: string) => string,
): Promise<Array<Record<string, unknown>>> {
  try {
    return await db.query(sql, values);
  } catch (cause) {
    throw new SourceError(`${action} failed: ${causeText(cause, scrub)}`, where, { cause });
  }
}

function tableName(dialect: Dialect, settings: StatusWriteback): string {
  const q = quoter(dialect);
  return settings.schema === undefined ? q(settings.table) : `${q(settings.schema)}.${q(settings.table)}`;
}

function quoter(dialect: Dialect): (name: string) => string {
  return dialect === 'mysql' ? (name) => `\`${name}\`` : (name) => `"${name}"`;
}

function placeholder(dialect: Dialect): (index: number) => string {
  return dialect === 'mysql' ? () => '?' : (index) => `$${index}`;
}

function mysqlDb(connection: Connection): Db {
  return {
    async query(sql, values = []) {
      const [rows] = await connection.query(sql, values);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    },
    async close() {
      await connection.end().catch(() => connection.destroy());
    },
  };
}

function postgresDb(client: pg.Client): Db {
  return {
    async query(sql, values = []) {
      return (await client.query(sql, values)).rows as Array<Record<string, unknown>>;
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
