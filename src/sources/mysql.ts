import type { Connection, ConnectionOptions, FieldPacket } from 'mysql2/promise';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { causeText, READ_ONLY_REFUSAL, seconds, selectStatement, serverCredentials } from './sql.ts';
import type { RowSource, SourceResult } from './types.ts';
import { loadMysql } from './drivers.ts';

const DEFAULT_PORT = 3306;
/** The server's refusal of a write inside START TRANSACTION READ ONLY. */
const ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION = 1792;

/**
 * A MySQL / MariaDB source on one connection (a sync reads once; a pool would only keep
 * sockets open between runs), opened with `mysqlConnectionOptions`.
 */
export function createMysqlSource(hub: Hub, settings: SqlServerSource, deps: SourceDeps): RowSource {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const port = settings.port ?? DEFAULT_PORT;
  const address = `${settings.host}:${port}`;
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  let connection: Connection | undefined;

  async function connect(connectTimeoutSeconds = settings.connectTimeoutSeconds): Promise<Connection> {
    return connectMysql(hub, settings, deps, connectTimeoutSeconds);
  }

  /**
   * One query, ended by the query timeout or by the sync's signal, whichever comes first, the
   * same way: mysql2's destroy() only half-closes the socket (it stays open, keeping the
   * process alive, until the server finishes the query), so the socket is closed for good
   * and the server is asked to stop the query. The timer is ours, so nothing of mysql2's is
   * left running after either.
   */
  async function run(
    open: Connection,
    sql: string,
    signal: AbortSignal | undefined,
  ): Promise<[unknown, FieldPacket[] | undefined]> {
    let end = (_why: 'timeout' | 'stopped'): void => undefined;
    const ended = new Promise<never>((_, reject) => {
      end = (why) => {
        const threadId = open.threadId;
        dropSocket(open);
        connection = undefined;
        void killQuery(threadId).finally(() => reject(why));
      };
    });
    const timer = setTimeout(() => end('timeout'), settings.queryTimeoutSeconds * 1000);
    const onAbort = (): void => end('stopped');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([open.query({ sql }) as Promise<[unknown, FieldPacket[] | undefined]>, ended]);
    } catch (cause) {
      if (cause === 'stopped') throw new SourceError('the read was cancelled: the sync was stopped', where);
      if (cause === 'timeout')
        throw new SourceError(`query timed out after ${seconds(settings.queryTimeoutSeconds)}`, where);
      if ((cause as { errno?: unknown }).errno === ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION)
        throw new SourceError(READ_ONLY_REFUSAL, where, { cause });
      throw new SourceError(`query failed on mysql at ${address}: ${causeText(cause, scrub)}`, where, { cause });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** `KILL QUERY` on a connection of its own; best effort (the socket is already closed), bounded by a short connect timeout. */
  async function killQuery(threadId: number | undefined): Promise<void> {
    if (threadId === undefined || threadId === null) return;
    let killer: Connection | undefined;
    try {
      killer = await connect(Math.min(settings.connectTimeoutSeconds, KILL_CONNECT_SECONDS));
      await killer.query({ sql: `KILL QUERY ${Number(threadId)}`, timeout: KILL_CONNECT_SECONDS * 1000 });
    } catch (error) {
      deps.logger.warn(
        { hub: hub.name, source: 'mysql', err: causeText(error, scrub) },
        'source could not stop a timed-out query on the server',
      );
    } finally {
      if (killer !== undefined) dropSocket(killer);
    }
  }

  return {
    async readRows(signal?: AbortSignal): Promise<SourceResult> {
      const sql = selectStatement(settings, 'mysql', where);
      const started = Date.now();
      signal?.throwIfAborted();
      const open = await connect();
      connection = open;
      // TIMESTAMP columns are converted to the session zone by the server; pin it to UTC so `timezone: 'Z'` is true.
      await run(open, "SET time_zone = '+00:00'", signal);
      // Read-only: a DELETE, an UPDATE, DDL in `query` are refused by the server (the driver sends one statement
      // only). The session too, not only the transaction: DDL commits the transaction it is in and would then run
      // in a new, read-write one.
      await run(open, 'SET SESSION TRANSACTION READ ONLY', signal);
      await run(open, 'START TRANSACTION READ ONLY', signal);
      const [rows, fields] = await run(open, sql, signal);
      await run(open, 'ROLLBACK', signal);
      if (!Array.isArray(rows) || fields === undefined) {
        throw new SourceError('the query returned no result set (is it a SELECT?)', where);
      }
      const columns = fields.map((field) => field.name);
      deps.logger.debug(
        { hub: hub.name, source: 'mysql', rows: rows.length, ms: Date.now() - started },
        'source rows read',
      );
      return { columns, rows: rows as SourceResult['rows'] };
    },

    async close(): Promise<void> {
      const open = connection;
      connection = undefined;
      if (open === undefined) return;
      try {
        await open.end();
      } catch {
        // The socket is already gone (a timeout or a server restart): nothing is left to close politely.
        open.destroy();
      }
    },
  };
}

const KILL_CONNECT_SECONDS = 5;

/** Close a connection's socket at once (mysql2's destroy() ends it politely and waits for the server). */
export function dropSocket(open: Connection): void {
  const inner = (open as unknown as { connection?: { stream?: { destroy(): void } } }).connection;
  open.destroy();
  inner?.stream?.destroy();
}

/**
 * The one way the bridge connects to a hub's MySQL server (its row reads and its sync
 * lock). Driver options are chosen for `valueToString`: BIGINT and DECIMAL as exact
 * strings, DATETIME/TIMESTAMP as UTC Dates, DATE as 'YYYY-MM-DD'.
 */
export async function mysqlConnectionOptions(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
): Promise<ConnectionOptions> {
  const { password, ssl } = await serverCredentials(hub, settings, 'mysql', deps.secretEnv);
  return {
    host: settings.host,
    port: settings.port ?? DEFAULT_PORT,
    user: settings.username,
    password,
    database: settings.database,
    connectTimeout: settings.connectTimeoutSeconds * 1000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    // DATETIME has no zone: read it as UTC, like the rest of the bridge, not as the host's local time.
    timezone: 'Z',
    // A DATE is a calendar day, not an instant: a Date object would shift it across zones.
    dateStrings: ['DATE'],
    // One statement per query, always (the row read's single-statement rule rests on it too).
    multipleStatements: false,
    // TCP keepalive from the first idle second on: a peer gone without a word is noticed by the kernel, not never.
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    ...(ssl !== undefined ? { ssl } : {}),
  };
}

/**
 * One connection to the hub's MySQL / MariaDB, with the bridge's driver options (the
 * source reads with it; the status table writes with it). A failure is a SourceError
 * naming the address, with secrets scrubbed.
 */
export async function connectMysql(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
  connectTimeoutSeconds = settings.connectTimeoutSeconds,
): Promise<Connection> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const address = `${settings.host}:${settings.port ?? DEFAULT_PORT}`;
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const options: ConnectionOptions = {
    ...(await mysqlConnectionOptions(hub, settings, deps)),
    connectTimeout: connectTimeoutSeconds * 1000,
  };
  deps.logger.debug({ hub: hub.name, source: 'mysql', address, database: settings.database }, 'source connecting');
  let opened: Connection;
  try {
    opened = await (await loadMysql()).createConnection(options);
  } catch (cause) {
    throw new SourceError(`cannot connect to mysql at ${address}: ${causeText(cause, scrub)}`, where, { cause });
  }
  // A dropped socket between queries is reported by the next query; without a listener it would crash the process.
  opened.on('error', (error: unknown) =>
    deps.logger.warn({ hub: hub.name, source: 'mysql', err: causeText(error, scrub) }, 'source connection error'),
  );
  return opened;
}
