import os from 'node:os';
import type { SqlServerSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { postgresqlClientConfig } from './postgresql.ts';
import { causeText } from './sql.ts';
import { loadPg } from './drivers.ts';

/** A LISTEN session on a hub's PostgreSQL database; `ended` resolves when it drops (or is closed). */
export type ListenSession = { close(): Promise<void>; ended: Promise<unknown> };

/**
 * LISTEN on `channel` with a session of its own (connected the one way the source is),
 * calling `onNotify` for each notification. Its own statement timeout does not apply to
 * an idle session, so it stays open until closed or dropped.
 */
export async function listenPostgresql(hub: Hub, settings: SqlServerSource, deps: SourceDeps, channel: string, onNotify: () => void): Promise<ListenSession> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file, field: 'spec.source.postgresql.notifyChannel' };
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  const client = new (await loadPg()).Client(await postgresqlClientConfig(hub, settings, deps, `lynq-listen ${os.hostname()}`.slice(0, 63)));
  let closing = false;
  const ended = new Promise<unknown>((resolve) => {
    client.on('error', (error) => resolve(error));
    client.on('end', () => resolve(closing ? undefined : new Error('the session ended')));
  });
  client.on('notification', (message) => {
    if (message.channel === channel) onNotify();
  });
  try {
    await client.connect();
    // The channel is a checked identifier (hub schema), quoted anyway.
    await client.query(`LISTEN "${channel}"`);
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new SourceError(`cannot LISTEN on postgresql at ${settings.host}: ${causeText(cause, scrub)}`, where, { cause });
  }
  return {
    ended,
    async close() {
      closing = true;
      await client.end().catch(() => undefined);
    },
  };
}
