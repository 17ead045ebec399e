import os from 'node:os';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { dropPgSocket, postgresqlClientConfig } from './postgresql.ts';
import { bounded, dbTimeoutMs, postgresqlSessionSettings } from './session-timeout.ts';
import { causeText } from './sql.ts';
import { loadPg } from './drivers.ts';

/** A LISTEN session on a hub's PostgreSQL database; `ended` resolves when it drops (or is closed). */
export type ListenSession = { close(): Promise<void>; ended: Promise<unknown> };

/**
 * LISTEN on `channel` with a session of its own (connected the one way the source is),
 * calling `onNotify` for each notification. Its own statement timeout does not apply to
 * an idle session, so it stays open until closed or dropped; a heartbeat (`SELECT 1`
 * every LYNQ_DB_TIMEOUT, answered within it) notices a session that went silent, a
 * frozen connection never telling it missed a NOTIFY, and ends it (`ended`), so the caller
 * opens another and syncs once for what it may have missed.
 */
export async function listenPostgresql(
  hub: Hub,
  settings: SqlServerSource,
  deps: SourceDeps,
  channel: string,
  onNotify: () => void,
): Promise<ListenSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file, field: 'spec.source.postgresql.notifyChannel' };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const client = new (await loadPg()).Client(
    await postgresqlClientConfig(hub, settings, deps, `lynq-listen ${os.hostname()}`.slice(0, 63)),
  );
  const timeoutMs = dbTimeoutMs(deps.secretEnv.env);
  let closing = false;
  let heartbeat: NodeJS.Timeout | undefined;
  const ended = new Promise<unknown>((resolve) => {
    client.on('error', (error) => resolve(error));
    client.on('end', () => resolve(closing ? undefined : new Error('the session ended')));
  });
  void ended.then(() => clearInterval(heartbeat));
  const bound = <T>(work: Promise<T>, what: string): Promise<T> =>
    bounded(work, { ms: timeoutMs, what, where, giveUp: () => dropPgSocket(client) });
  client.on('notification', (message) => {
    if (message.channel === channel) onNotify();
  });
  try {
    await client.connect();
    const session = postgresqlSessionSettings(timeoutMs * 6);
    await bound(
      client.query(
        `SELECT ${session.map(([name], index) => `set_config('${name}', $${index + 1}, false)`).join(', ')}`,
        session.map(([, value]) => value),
      ),
      'LISTEN session settings',
    ).catch((error: unknown) =>
      deps.logger.debug({ hub: hub.name, err: causeText(error, scrub) }, 'LISTEN session settings not taken'),
    );
    // The channel is a checked identifier (hub schema), quoted anyway.
    await bound(client.query(`LISTEN "${channel}"`), 'LISTEN');
  } catch (cause) {
    closing = true;
    await bound(client.end(), 'closing the LISTEN session').catch(() => undefined);
    throw new SourceError(`cannot LISTEN on postgresql at ${settings.host}: ${causeText(cause, scrub)}`, where, {
      cause,
    });
  }
  heartbeat = setInterval(() => {
    // Unanswered: the socket is dropped (bounded), and the client's 'error'/'end' ends the session.
    bound(client.query('SELECT 1'), 'LISTEN session heartbeat').catch(() => dropPgSocket(client));
  }, timeoutMs);
  heartbeat.unref();
  return {
    ended,
    async close() {
      closing = true;
      clearInterval(heartbeat);
      await bound(client.end(), 'closing the LISTEN session').catch(() => undefined);
    },
  };
}
