import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Connection } from 'mysql2/promise';
import type pg from 'pg';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { dropSocket, mysqlConnectionOptions } from './mysql.ts';
import { dropPgSocket, postgresqlClientConfig } from './postgresql.ts';
import { bounded, dbTimeoutMs, postgresqlSessionSettings } from './session-timeout.ts';
import { causeText } from './sql.ts';
import { loadPg, loadMysql } from './drivers.ts';

/**
 * A hub's sync lock on its own source database: a PostgreSQL session advisory lock or a
 * MySQL named lock, held on a connection of its own for as long as the sync runs. The
 * server releases it when that session ends for any reason (the holder exits, is killed,
 * or loses its network), so nobody has to clean up after a dead holder.
 *
 * Nothing on the session waits for good (docs/reliability.md): every statement and the
 * close are bounded by LYNQ_DB_TIMEOUT, a heartbeat (`SELECT 1` every LYNQ_DB_TIMEOUT)
 * notices a session that stopped answering and reports it lost, and the session asks the
 * server to notice a client that went away (PostgreSQL: TCP keepalives; MySQL: a
 * wait_timeout the heartbeat keeps from firing while the holder lives).
 */
export type DatabaseLockSession = {
  /** The server's id of this session (PostgreSQL backend pid, MySQL connection id), when known. */
  readonly id: string | undefined;
  /** Try once; true when this session now holds the lock. */
  tryLock(): Promise<boolean>;
  /** Who holds the lock now: one line for people, and the holder's session id (undefined when nobody or unknown). */
  holder(): Promise<{ text: string; id: string } | undefined>;
  /** End another session (one this process opened and lost: a stale holder); true once its lock is free. */
  terminate(id: string): Promise<boolean>;
  /** Release (if held) and close the session. Never throws; false when it could not be closed cleanly in time (the server may still hold it). */
  close(): Promise<boolean>;
  /** Called once if the session is lost while open (dropped, or its heartbeat unanswered): the lock is then no longer held. */
  onLost(listener: (error: unknown) => void): void;
};

/** What a lock holder calls itself: host and pid, so a skipped run can say who it waited for. */
export function holderName(): string {
  return `lynq ${os.hostname()} pid ${process.pid}`;
}

/** The 64-bit advisory-lock key of a hub: the same in every process that reads the same hub. */
export function advisoryKey(hubName: string): bigint {
  return createHash('sha256').update(`lynq-hub:${hubName}`).digest().readBigInt64BE(0);
}

/** MySQL lock names are server-wide and at most 64 characters: database and hub, hashed. */
export function mysqlLockName(database: string, hubName: string): string {
  return `lynq-hub:${createHash('sha256').update(`${database}/${hubName}`).digest('hex').slice(0, 40)}`;
}

/** Heartbeat, lost-listener and bounded statements, shared by both databases. */
function sessionGuard(options: {
  timeoutMs: number;
  where: ErrorWhere;
  at: string;
  drop: () => void;
  ping: () => Promise<unknown>;
}) {
  let lost: ((error: unknown) => void) | undefined;
  let closing = false;
  let reported = false;
  /** Why the socket was given up on: later work fails with it, not with the driver's word for a dropped socket. */
  let dropped: unknown;
  const report = (error: unknown): void => {
    dropped ??= error;
    if (closing || reported) return;
    reported = true;
    clearInterval(heartbeat);
    lost?.(error);
  };
  const run = <T>(work: () => Promise<T>, what: string): Promise<T> => {
    if (dropped !== undefined) return Promise.reject(dropped);
    return bounded(work(), { ms: options.timeoutMs, what, where: options.where, giveUp: options.drop }).catch(
      (error: unknown) => {
        if (error instanceof SourceError) dropped ??= error;
        throw error;
      },
    );
  };
  const heartbeat = setInterval(() => {
    run(options.ping, `sync lock session heartbeat on ${options.at}`).catch(report);
  }, options.timeoutMs);
  // The heartbeat never keeps a process alive on its own.
  heartbeat.unref();
  return {
    run,
    report,
    get closing() {
      return closing;
    },
    startClosing() {
      closing = true;
      clearInterval(heartbeat);
    },
    onLost(listener: (error: unknown) => void) {
      lost = listener;
    },
  };
}

export async function openPostgresqlLock(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
): Promise<DatabaseLockSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const timeoutMs = dbTimeoutMs(deps.secretEnv.env);
  // application_name is at most 63 bytes; it is what `holder()` shows the next process.
  const client = new (await loadPg()).Client(
    await postgresqlClientConfig(hub, settings, deps, holderName().slice(0, 63)),
  );
  const key = advisoryKey(hub.name).toString();
  let held = false;
  const guard = sessionGuard({
    timeoutMs,
    where,
    at: `postgresql at ${settings.host}`,
    drop: () => dropPgSocket(client),
    ping: () => client.query('SELECT 1'),
  });
  client.on('error', (error) => guard.report(error));
  client.on('end', () => guard.report(new Error('the lock session ended')));
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
    try {
      return await guard.run(() => client.query<R>(sql, values), `sync lock query on postgresql at ${settings.host}`);
    } catch (cause) {
      if (cause instanceof SourceError) throw cause;
      throw new SourceError(
        `sync lock query failed on postgresql at ${settings.host}: ${causeText(cause, scrub)}`,
        where,
        { cause },
      );
    }
  };
  try {
    await client.connect();
    // Where the server lets the session set them (not through every pooler): it then frees the lock of a holder that went silent.
    const settingsSql = postgresqlSessionSettings(timeoutMs * 6).map(
      ([name], index) => `set_config('${name}', $${index + 1}, false)`,
    );
    await query(
      `SELECT ${settingsSql.join(', ')}`,
      postgresqlSessionSettings(timeoutMs * 6).map(([, value]) => value),
    ).catch((error: unknown) =>
      deps.logger.debug({ hub: hub.name, err: causeText(error, scrub) }, 'sync lock session settings not taken'),
    );
  } catch (cause) {
    guard.startClosing();
    await bounded(client.end(), { ms: timeoutMs, what: 'closing', where, giveUp: () => dropPgSocket(client) }).catch(
      () => undefined,
    );
    throw new SourceError(
      `cannot connect to postgresql at ${settings.host}:${settings.port ?? 5432} for the sync lock: ${causeText(cause, scrub)}`,
      where,
      { cause },
    );
  }
  const id = (client as unknown as { processID?: number }).processID;
  return {
    id: id === undefined ? undefined : String(id),
    async tryLock() {
      const result = await query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
      held = result.rows[0]?.locked === true;
      return held;
    },
    async holder() {
      // A bigint advisory key shows in pg_locks as classid (high half) and objid (low half), objsubid 1.
      const result = await query<{ name: string; addr: string | null; pid: number }>(
        `SELECT a.application_name AS name, host(a.client_addr) AS addr, a.pid
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
        [key],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        text: `${row.name || 'an unnamed session'} (postgresql backend ${row.pid}${row.addr === null ? '' : ` from ${row.addr}`})`,
        id: String(row.pid),
      };
    },
    async terminate(other) {
      // The server waits (up to the timeout) for the backend to be gone, its locks with it.
      const result = await query<{ gone: boolean }>('SELECT pg_terminate_backend($1::int, $2::bigint) AS gone', [
        Number(other),
        timeoutMs,
      ]);
      return result.rows[0]?.gone === true;
    },
    async close() {
      guard.startClosing();
      let clean = true;
      // Ending the session releases the lock too, but only once the server has seen the session go:
      // unlocking first means the next process can take it the moment close() returns.
      if (held) await query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => (clean = false));
      held = false;
      await bounded(client.end(), {
        ms: timeoutMs,
        what: 'closing the sync lock session',
        where,
        giveUp: () => dropPgSocket(client),
      }).catch(() => (clean = false));
      return clean;
    },
    onLost: guard.onLost,
  };
}

export async function openMysqlLock(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
): Promise<DatabaseLockSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const timeoutMs = dbTimeoutMs(deps.secretEnv.env);
  const name = mysqlLockName(settings.database, hub.name);
  let held = false;
  let connection: Connection;
  try {
    connection = await (await loadMysql()).createConnection(await mysqlConnectionOptions(hub, settings, deps));
  } catch (cause) {
    throw new SourceError(
      `cannot connect to mysql at ${settings.host}:${settings.port ?? 3306} for the sync lock: ${causeText(cause, scrub)}`,
      where,
      { cause },
    );
  }
  const guard = sessionGuard({
    timeoutMs,
    where,
    at: `mysql at ${settings.host}`,
    drop: () => dropSocket(connection),
    ping: () => connection.query('SELECT 1'),
  });
  connection.on('error', (error: unknown) => guard.report(error));
  const query = async (sql: string, values: unknown[]): Promise<Array<Record<string, unknown>>> => {
    try {
      const [rows] = await guard.run(
        () => connection.query(sql, values),
        `sync lock query on mysql at ${settings.host}`,
      );
      return rows as Array<Record<string, unknown>>;
    } catch (cause) {
      if (cause instanceof SourceError) throw cause;
      throw new SourceError(`sync lock query failed on mysql at ${settings.host}: ${causeText(cause, scrub)}`, where, {
        cause,
      });
    }
  };
  try {
    // The server ends a session silent for this long (its lock freed); the heartbeat keeps a living holder's busy.
    await query('SET SESSION wait_timeout = ?', [Math.max(120, Math.ceil((timeoutMs * 12) / 1000))]);
  } catch (cause) {
    guard.startClosing();
    dropSocket(connection);
    throw cause;
  }
  // MySQL has no application_name; a user variable is not visible to others, so the holder is named by its connection.
  return {
    id: connection.threadId === null || connection.threadId === undefined ? undefined : String(connection.threadId),
    async tryLock() {
      const rows = await query('SELECT GET_LOCK(?, 0) AS locked', [name]);
      held = Number(rows[0]?.locked) === 1;
      return held;
    },
    async holder() {
      const rows = await query(
        'SELECT p.ID AS id, p.HOST AS host FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)',
        [name],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      return { text: `mysql connection ${String(row.id)} from ${String(row.host)}`, id: String(row.id) };
    },
    async terminate(other) {
      await query(`KILL CONNECTION ${Number(other)}`, []);
      // KILL returns before the connection is gone; its lock goes with it.
      for (let waited = 0; waited < timeoutMs; waited += 50) {
        const rows = await query('SELECT IS_USED_LOCK(?) AS holder', [name]);
        if (String(rows[0]?.holder ?? '') !== other) return true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return false;
    },
    async close() {
      guard.startClosing();
      let clean = true;
      // As for PostgreSQL: released before the connection ends, so it is free when close() returns.
      if (held) await query('SELECT RELEASE_LOCK(?)', [name]).catch(() => (clean = false));
      held = false;
      await bounded(connection.end(), {
        ms: timeoutMs,
        what: 'closing the sync lock session',
        where,
        giveUp: () => dropSocket(connection),
      }).catch(() => {
        clean = false;
        dropSocket(connection);
      });
      return clean;
    },
    onLost: guard.onLost,
  };
}
