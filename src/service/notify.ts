import { setTimeout as sleep } from 'node:timers/promises';
import type { Hub } from '../config/load.ts';
import { messageOf } from '../errors.ts';
import type { SourceDeps } from '../sources/types.ts';
import { listenPostgresql, type ListenSession } from '../sources/listen.ts';

export type Listener = { stop(): Promise<void> };

const MAX_BACKOFF_MS = 30_000;

/**
 * Keeps a LISTEN session open for a postgresql hub with `notifyChannel`: each
 * notification asks for a sync (the scheduler debounces bursts). A dropped session is
 * opened again with backoff, and asks for one sync once back, for what it missed.
 */
export function listenForHub(hub: Hub, deps: SourceDeps, onNotify: () => void): Listener | undefined {
  const settings = hub.spec.source.postgresql;
  const channel = settings?.notifyChannel;
  if (hub.spec.source.type !== 'postgresql' || settings === undefined || channel === undefined) return undefined;
  const stopped = new AbortController();
  let session: ListenSession | undefined;
  const loop = (async () => {
    let backoff = 500;
    let first = true;
    while (!stopped.signal.aborted) {
      try {
        session = await listenPostgresql(hub, settings, deps, channel, onNotify);
        if (stopped.signal.aborted) {
          await session.close();
          return;
        }
        deps.logger.info({ hub: hub.name, channel }, 'listening for notifications');
        if (!first) onNotify();
        first = false;
        backoff = 500;
        const why = await session.ended;
        if (stopped.signal.aborted) return;
        deps.logger.warn({ hub: hub.name, channel, err: messageOf(why) }, 'notification session dropped; reconnecting');
      } catch (error) {
        deps.logger.warn(
          { hub: hub.name, channel, err: messageOf(error), retryMs: backoff },
          'cannot listen for notifications; retrying',
        );
        first = false;
      }
      await sleep(backoff, undefined, { signal: stopped.signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  })();
  return {
    async stop() {
      stopped.abort();
      await session?.close();
      await loop;
    },
  };
}
