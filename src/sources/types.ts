import type { SecretEnv } from '../config/secrets.ts';
import type { Logger } from '../logger.ts';

/** One row as the database driver returned it, keyed by column name. */
export type RawRow = Record<string, unknown>;

export type SourceResult = {
  /** Column names in the order the query returned them (also when there are no rows). */
  columns: string[];
  rows: RawRow[];
};

/**
 * The boundary between the bridge and a database. An adapter connects, runs the hub's
 * table read or query with a timeout, and closes; every failure is a SourceError naming
 * the hub. Adapters never interpret rows: `rows.ts` turns them into node inputs.
 */
export interface RowSource {
  /** `signal` stops the read: the query is cancelled on the server and the connection dropped (a SourceError). */
  readRows(signal?: AbortSignal): Promise<SourceResult>;
  close(): Promise<void>;
}

/** What every adapter needs from outside: where secrets come from, and where to log. */
export type SourceDeps = { secretEnv: SecretEnv; logger: Logger };
