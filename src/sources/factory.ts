import type { Hub } from '../config/load.ts';
import { SourceError } from '../errors.ts';
import { createMysqlSource } from './mysql.ts';
import { createPgliteSource } from './pglite.ts';
import { createPostgresqlSource } from './postgresql.ts';
import { toHubRows, type HubRow } from './rows.ts';
import type { RowSource, SourceDeps } from './types.ts';

/** The adapter for the hub's `spec.source.type`. Nothing connects until `readRows()`. */
export function createRowSource(hub: Hub, deps: SourceDeps): RowSource {
  const { source } = hub.spec;
  const missing = (): SourceError =>
    // The hub schema already requires these settings; this only guards hand-built hubs.
    new SourceError(`type is ${source.type}, so spec.source.${source.type} is required`, {
      hub: hub.name,
      file: hub.file,
      field: `spec.source.${source.type}`,
    });
  switch (source.type) {
    case 'mysql':
      if (source.mysql === undefined) throw missing();
      return createMysqlSource(hub, source.mysql, deps);
    case 'postgresql':
      if (source.postgresql === undefined) throw missing();
      return createPostgresqlSource(hub, source.postgresql, deps);
    case 'pglite':
      if (source.pglite === undefined) throw missing();
      return createPgliteSource(hub, source.pglite, deps);
  }
}

/**
 * Read a hub's rows once: open, read, always close, then map columns to node inputs.
 * Every failure is a SourceError (or a ConfigError for an unresolvable passwordRef).
 */
export async function readHubRows(hub: Hub, deps: SourceDeps, signal?: AbortSignal): Promise<HubRow[]> {
  const source = createRowSource(hub, deps);
  try {
    const result = await source.readRows(signal);
    return toHubRows(hub, result);
  } finally {
    // Adapters' close() never throws, so it cannot hide the error that got us here.
    await source.close();
  }
}
