import type pg from 'pg';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { causeText, READ_ONLY_REFUSAL, seconds, selectStatement, serverCredentials } from './sql.ts';
import type { RawRow, RowSource, SourceResult } from './types.ts';
import { loadPg } from './drivers.ts';

const DEFAULT_PORT = 5432;

/** Type OIDs whose default parsing does not fit the bridge (shared with the pglite source). */
export const PG_OID = { INT8: 20, DATE: 1082, TIMESTAMP: 1114 } as const;

/** SQLSTATE query_canceled: what the server says when statement_timeout fires. */
const QUERY_CANCELED = '57014';
/** SQLSTATE read_only_sql_transaction: the query tried to write. */
const READ_ONLY_SQL_TRANSACTION = '25006';

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Postgres text for `timestamp without time zone` read as UTC, as the ISO text a Date of
 * it would give (`2024-01-01T00:00:00.000Z`). The drivers' default reads it in the
 * process's local zone, so the same row would render differently per host. Values a Date
 * cannot hold faithfully (`infinity`, BC, years past 9999) stay as text; sub-millisecond
 * digits are dropped (a Date has milliseconds). Written without a Date: Postgres only
 * ever prints valid dates, and at 100,000 rows the Date and back costs a fifth of a second.
 */
export function parseTimestampUtc(text: string): string {
  const match = TIMESTAMP_TEXT.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = ''] = match;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
}

/**
 * A PostgreSQL source on one `pg.Client`. Type parsers are set on this client only (the
 * global `pg.types` would change every other pg user in the process): DATE stays the
 * 'YYYY-MM-DD' text and `timestamp` is UTC. pg already returns INT8 and NUMERIC as
 * strings, booleans as booleans and JSON parsed.
 */
export function createPostgresqlSource(hub: Hub, settings: SqlServerSource, deps: SourceDeps): RowSource {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const port = settings.port ?? DEFAULT_PORT;
  const address = `${settings.host}:${port}`;
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const timeoutMs = Math.round(settings.queryTimeoutSeconds * 1000);
  let client: pg.Client | undefined;

  async function connect(): Promise<pg.Client> {
    return connectPostgresql(hub, settings, deps);
  }

  /** `pg_cancel_backend` from a session of its own; best effort, logged when it fails. */
  async function cancelBackend(open: pg.Client): Promise<void> {
    const pid = (open as unknown as { processID?: number }).processID;
    if (pid === undefined) return;
    let canceller: pg.Client | undefined;
    try {
      canceller = await connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch (error) {
      deps.logger.warn(
        { hub: hub.name, source: 'postgresql', err: causeText(error, scrub) },
        'source could not cancel a stopped query on the server',
      );
    } finally {
      await canceller?.end().catch(() => undefined);
    }
  }

  return {
    async readRows(signal?: AbortSignal): Promise<SourceResult> {
      const sql = selectStatement(settings, 'postgresql', where);
      const started = Date.now();
      signal?.throwIfAborted();
      const open = await connect();
      client = open;
      let result: pg.QueryResult | pg.QueryResult[];
      const queryStarted = Date.now();
      // A stopped sync cancels the statement on the server (which would otherwise run on after
      // the client has gone) and ends the session.
      let cancelled: Promise<void> | undefined;
      const onAbort = (): void => {
        cancelled = cancelBackend(open).finally(() => open.end().catch(() => undefined));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        // Read-only: a data-modifying CTE, a function that writes, DDL are refused by the server. The extended
        // protocol takes one statement only (the server refuses several before running any).
        await open.query('BEGIN TRANSACTION READ ONLY');
        result = (await open.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig)) as
          | pg.QueryResult
          | pg.QueryResult[];
        await open.query('ROLLBACK');
      } catch (cause) {
        if (signal?.aborted) {
          await cancelled;
          throw new SourceError('the read was cancelled: the sync was stopped', where, { cause });
        }
        // query_timeout's error carries no code, so elapsed time is how it is recognised.
        const timedOut = codeOf(cause) === QUERY_CANCELED || Date.now() - queryStarted >= timeoutMs;
        if (timedOut)
          throw new SourceError(`query timed out after ${seconds(settings.queryTimeoutSeconds)}`, where, { cause });
        if (codeOf(cause) === READ_ONLY_SQL_TRANSACTION) throw new SourceError(READ_ONLY_REFUSAL, where, { cause });
        throw new SourceError(`query failed on postgresql at ${address}: ${causeText(cause, scrub)}`, where, { cause });
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      // Several statements in `query` come back as several results: which one is meant is a guess, so refuse.
      if (Array.isArray(result)) throw new SourceError('the query must be a single statement', where);
      if (result.fields.length === 0)
        throw new SourceError('the query returned no result set (is it a SELECT?)', where);
      deps.logger.debug(
        { hub: hub.name, source: 'postgresql', rows: result.rowCount, ms: Date.now() - started },
        'source rows read',
      );
      return { columns: result.fields.map((field) => field.name), rows: result.rows as RawRow[] };
    },

    async close(): Promise<void> {
      const open = client;
      client = undefined;
      if (open === undefined) return;
      // end() after a lost connection can reject; there is nothing left to release then.
      await open.end().catch(() => undefined);
    },
  };
}

/**
 * The one way the bridge connects to a hub's PostgreSQL server (its row reads, its sync
 * lock and its LISTEN session): credentials, TLS, timeouts. `applicationName` tells the
 * sessions apart in pg_stat_activity (the lock's says who holds it).
 */
export async function postgresqlClientConfig(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
  applicationName = 'lynq-bridge',
): Promise<pg.ClientConfig> {
  const { password, ssl } = await serverCredentials(hub, settings, 'postgresql', deps.secretEnv);
  const timeoutMs = Math.round(settings.queryTimeoutSeconds * 1000);
  return {
    host: settings.host,
    port: settings.port ?? DEFAULT_PORT,
    user: settings.username,
    password,
    database: settings.database,
    ssl: ssl ?? false,
    connectionTimeoutMillis: Math.round(settings.connectTimeoutSeconds * 1000),
    // The server cancels the statement; query_timeout is the client's own bound for when the server cannot answer.
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    application_name: applicationName,
    // TCP keepalive probes once idle 10 s: the kernel then notices a server gone without a word.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** Close a client's socket at once: `end()` waits for the server's goodbye, which a frozen connection never sends. */
export function dropPgSocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * One client of the hub's PostgreSQL, with the bridge's type parsers and timeouts (the
 * source reads with it; the status table writes with it). A failure is a SourceError
 * naming the address, with secrets scrubbed.
 */
export async function connectPostgresql(hub: Hub, settings: SqlServerSource, deps: SourceDeps): Promise<pg.Client> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const address = `${settings.host}:${settings.port ?? DEFAULT_PORT}`;
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const connectTimeoutMs = Math.round(settings.connectTimeoutSeconds * 1000);
  const opened = new (await loadPg()).Client(await postgresqlClientConfig(hub, settings, deps));
  opened.setTypeParser(PG_OID.DATE, (text: string) => text);
  opened.setTypeParser(PG_OID.TIMESTAMP, parseTimestampUtc);
  // pg emits 'error' for a connection lost while idle; unhandled, that event would end the process.
  opened.on('error', (error) =>
    deps.logger.warn({ hub: hub.name, source: 'postgresql', err: causeText(error, scrub) }, 'source connection error'),
  );
  deps.logger.debug({ hub: hub.name, source: 'postgresql', address, database: settings.database }, 'source connecting');
  const started = Date.now();
  try {
    await opened.connect();
  } catch (cause) {
    // pg reports its own connect timeout as a dropped connection; say what actually happened.
    const timedOut = Date.now() - started >= connectTimeoutMs - 50;
    const why = timedOut
      ? `no answer within ${seconds(settings.connectTimeoutSeconds)} (${causeText(cause, scrub)})`
      : causeText(cause, scrub);
    await opened.end().catch(() => undefined);
    throw new SourceError(`cannot connect to postgresql at ${address}: ${why}`, where, { cause });
  }
  return opened;
}
