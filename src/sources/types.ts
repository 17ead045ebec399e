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
  readRows(): Promise<SourceResult>;
  close(): Promise<void>;
}
