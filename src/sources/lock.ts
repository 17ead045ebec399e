import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Connection } from 'mysql2/promise';
import type pg from 'pg';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { mysqlConnectionOptions } from './mysql.ts';
import { postgresqlClientConfig } from './postgresql.ts';
import { causeText } from './sql.ts';
import { loadPg, loadMysql } from './drivers.ts';

/**
 * A hub's sync lock on its own source database: a PostgreSQL session advisory lock or a
 * MySQL named lock, held on a connection of its own for as long as the sync runs. The
 * server releases it when that session ends for any reason (the holder exits, is killed,
 * or loses its network), so nobody has to clean up after a dead holder.
 */
export type DatabaseLockSession = {
  /** Try once; true when this session now holds the lock. */
  tryLock(): Promise<boolean>;
  /** Who holds the lock now, as one line for people (undefined when nobody or unknown). */
  holder(): Promise<string | undefined>;
  /** Release (if held) and close the session. Never throws. */
  close(): Promise<void>;
  /** Called once if the session is lost while open: the lock is then no longer held. */
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

export async function openPostgresqlLock(hub: Hub, settings: SqlServerSource, deps: SourceDeps): Promise<DatabaseLockSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  // application_name is at most 63 bytes; it is what `holder()` shows the next process.
  const client = new (await loadPg()).Client(await postgresqlClientConfig(hub, settings, deps, holderName().slice(0, 63)));
  const key = advisoryKey(hub.name).toString();
  let held = false;
  let lost: ((error: unknown) => void) | undefined;
  let closing = false;
  client.on('error', (error) => {
    if (!closing) lost?.(error);
  });
  client.on('end', () => {
    if (!closing) lost?.(new Error('the lock session ended'));
  });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new SourceError(`cannot connect to postgresql at ${settings.host}:${settings.port ?? 5432} for the sync lock: ${causeText(cause, scrub)}`, where, { cause });
  }
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
    try {
      return await client.query<R>(sql, values);
    } catch (cause) {
      throw new SourceError(`sync lock query failed on postgresql at ${settings.host}: ${causeText(cause, scrub)}`, where, { cause });
    }
  };
  return {
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
      return `${row.name || 'an unnamed session'} (postgresql backend ${row.pid}${row.addr === null ? '' : ` from ${row.addr}`})`;
    },
    async close() {
      closing = true;
      // Ending the session releases the lock too, but only once the server has seen the session go:
      // unlocking first means the next process can take it the moment close() returns.
      if (held) await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      held = false;
      await client.end().catch(() => undefined);
    },
    onLost(listener) {
      lost = listener;
    },
  };
}

export async function openMysqlLock(hub: Hub, settings: SqlServerSource, deps: SourceDeps): Promise<DatabaseLockSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const name = mysqlLockName(settings.database, hub.name);
  let held = false;
  let connection: Connection;
  try {
    connection = await (await loadMysql()).createConnection(await mysqlConnectionOptions(hub, settings, deps));
  } catch (cause) {
    throw new SourceError(`cannot connect to mysql at ${settings.host}:${settings.port ?? 3306} for the sync lock: ${causeText(cause, scrub)}`, where, { cause });
  }
  let lost: ((error: unknown) => void) | undefined;
  let closing = false;
  connection.on('error', (error: unknown) => {
    if (!closing) lost?.(error);
  });
  const query = async (sql: string, values: unknown[]): Promise<Array<Record<string, unknown>>> => {
    try {
      const [rows] = await connection.query(sql, values);
      return rows as Array<Record<string, unknown>>;
    } catch (cause) {
      throw new SourceError(`sync lock query failed on mysql at ${settings.host}: ${causeText(cause, scrub)}`, where, { cause });
    }
  };
  // MySQL has no application_name; a user variable is not visible to others, so the holder is named by its connection.
  return {
    async tryLock() {
      const rows = await query('SELECT GET_LOCK(?, 0) AS locked', [name]);
      held = Number(rows[0]?.locked) === 1;
      return held;
    },
    async holder() {
      const rows = await query('SELECT p.ID AS id, p.HOST AS host FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)', [name]);
      const row = rows[0];
      if (row === undefined) return undefined;
      return `mysql connection ${String(row.id)} from ${String(row.host)}`;
    },
    async close() {
      closing = true;
      // As for PostgreSQL: released before the connection ends, so it is free when close() returns.
      if (held) await connection.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
      held = false;
      try {
        await connection.end();
      } catch {
        connection.destroy();
      }
    },
    onLost(listener) {
      lost = listener;
    },
  };
}
