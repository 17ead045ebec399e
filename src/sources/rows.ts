import { closestName } from '../config/did-you-mean.ts';
import type { Hub } from '../config/load.ts';
import { combineProblems, ConfigError, SourceError } from '../errors.ts';
import type { SourceResult } from './types.ts';
import { InvalidTextError, isActive, valueToString } from './values.ts';

/** One database row as the bridge sees it: a uid, whether it is active, its variables. */
export type HubRow = {
  /** The uid column as a string; not yet checked as a path segment (the plan does that). */
  uid: string;
  active: boolean;
  /** Template variables from the row: `uid`, `activate`, `hostOrUrl`/`host` and every extra mapping. */
  values: Record<string, string>;
  /** Why the row cannot be used as read (a column that is not valid UTF-8): the plan fails it, named, and keeps what Git has. */
  problem?: string;
  /** The hub's `valueMappings.paused` column is truthy: Git keeps the row's nodes as they are. Set only when true. */
  paused?: true;
};

/**
 * Map driver rows onto the hub's value mappings. A mapped column missing from the result
 * is a hub error naming the column (the whole sync stops: every node would be wrong).
 */
export function toHubRows(hub: Hub, result: SourceResult): HubRow[] {
  const { valueMappings, extraValueMappings } = hub.spec;
  const mapped: Array<[variable: string, column: string]> = [
    ['uid', valueMappings.uid],
    ['activate', valueMappings.activate],
    ...(valueMappings.hostOrUrl !== undefined
      ? ([['hostOrUrl', valueMappings.hostOrUrl]] as Array<[string, string]>)
      : []),
    ...(valueMappings.cluster !== undefined ? ([['cluster', valueMappings.cluster]] as Array<[string, string]>) : []),
    ...Object.entries(extraValueMappings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ];
  const defaultCluster = valueMappings.cluster === undefined ? undefined : hub.spec.gitops.defaultCluster;
  const columns = new Set(result.columns);
  // A JOIN with `SELECT *` can return a column name twice; the drivers keep only the last.
  const twice = result.columns.find((column, index) => result.columns.indexOf(column) !== index);
  if (twice !== undefined) {
    throw new SourceError(
      `the query returns the column ${JSON.stringify(twice)} twice; name the columns (or alias one) so each name is unique`,
      {
        hub: hub.name,
        file: hub.file,
        field: 'spec.source',
      },
    );
  }
  // The pause column is read apart: it is not a template variable, so it is in no row hash.
  const pausedColumn = valueMappings.paused;
  const missing = [
    ...mapped,
    ...(pausedColumn === undefined ? [] : ([['paused', pausedColumn]] as Array<[string, string]>)),
  ].filter(([, column]) => !columns.has(column));
  // A mapping the table cannot satisfy is the hub file's to fix (the database answered): a config error at the mapping's line.
  if (missing.length > 0)
    throw combineProblems(missing.map(([variable, column]) => missingColumn(hub, variable, column, result.columns)));
  // The variables in sorted order (the names are unique: extras cannot take a reserved one), so a row's values
  // object has its keys as the row hash's JSON sorts them and JSON.stringify needs no key list (twice as fast).
  const hostAt = mapped.findIndex(([variable]) => variable === 'hostOrUrl');
  const order = [
    ...mapped.map(([variable], at) => ({ variable, at })),
    ...(hostAt < 0 ? [] : [{ variable: 'host', at: -1 }]),
  ].sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
  return result.rows.map((row) => {
    const texts: string[] = [];
    const problems: string[] = [];
    for (const [variable, column] of mapped) {
      try {
        texts.push(valueToString(row[column]));
      } catch (error) {
        if (!(error instanceof InvalidTextError)) throw error;
        texts.push(error.lossy);
        problems.push(`column ${JSON.stringify(column)} (${variable}) ${error.message}`);
      }
    }
    const values: Record<string, string> = {};
    for (const { variable, at } of order) values[variable] = at < 0 ? hostOf(texts[hostAt]!) : texts[at]!;
    // An empty cluster column means the hub's default cluster; none is checked when the node renders.
    if (values.cluster === '' && defaultCluster !== undefined) values.cluster = defaultCluster;
    const hubRow: HubRow = { uid: values.uid ?? '', active: isActive(values.activate ?? ''), values };
    if (problems.length > 0) hubRow.problem = problems.join('; ');
    if (pausedColumn !== undefined && isPausedValue(row[pausedColumn])) hubRow.paused = true;
    return hubRow;
  });
}

/** Truthy as `activate` is read (Lynq's `1`, `true`, `yes`…); a value that cannot be read pauses too: it keeps what Git has. */
function isPausedValue(value: unknown): boolean {
  try {
    return isActive(valueToString(value));
  } catch (error) {
    if (!(error instanceof InvalidTextError)) throw error;
    return true;
  }
}

/** Lynq's `.host`: the host part of a URL, or the value itself when it is not a URL. */
export function hostOf(value: string): string {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname;
  } catch {
    return value;
  }
}

function missingColumn(hub: Hub, variable: string, column: string, columns: readonly string[]): ConfigError {
  const path =
    variable === 'uid' ||
    variable === 'activate' ||
    variable === 'hostOrUrl' ||
    variable === 'paused' ||
    variable === 'cluster'
      ? ['spec', 'valueMappings', variable]
      : ['spec', 'extraValueMappings', variable];
  const hint = closestName(column, columns);
  const fix =
    hint === undefined
      ? 'map a column the table has, or add it to the table or the query'
      : `did you mean ${JSON.stringify(hint)}?`;
  return new ConfigError(
    `column ${JSON.stringify(column)} is not in the query result (columns: ${columns.join(', ') || 'none'}): ${fix}`,
    {
      file: hub.file,
      line: hub.lineOf?.(path),
      hub: hub.name,
      field: path.join('.'),
    },
  );
}
