import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SqlServerSource, TlsOptions } from '../config/hub-schema.ts';
import { resolveSecret, type SecretEnv } from '../config/secrets.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import { hasSeveralStatements } from './statements.ts';

export type SqlDialect = 'mysql' | 'postgresql';

/** The part of a source's settings that says what to read. */
export type ReadTarget = { table?: string | undefined; query?: string | undefined };

/**
 * Quote a hub's `table` value as an identifier: `schema.table` is split on the dot and
 * each part quoted, so a name is never interpolated raw. A quote character inside a part
 * is escaped by doubling it (both dialects' rule), which keeps names with spaces or
 * quotes readable while making injection impossible.
 */
export function quoteIdentifier(name: string, dialect: SqlDialect, where: ErrorWhere = {}): string {
  const quote = dialect === 'mysql' ? '`' : '"';
  const parts = name.split('.');
  for (const part of parts) {
    // An empty part (`.items`, `a..b`) or a NUL byte cannot name anything; say so before the server does, less clearly.
    if (part.length === 0 || part.includes('\0')) {
      throw new SourceError(`table ${JSON.stringify(name)} is not a valid name: use "table" or "schema.table"`, where);
    }
  }
  return parts.map((part) => `${quote}${part.split(quote).join(quote + quote)}${quote}`).join('.');
}

/**
 * The statement a source runs: the user's `query` as written, or every column of `table`.
 * A query of several statements is refused here, before anything is sent.
 */
export function selectStatement(settings: ReadTarget, dialect: SqlDialect, where: ErrorWhere = {}): string {
  if (settings.query !== undefined) {
    if (hasSeveralStatements(settings.query, dialect)) {
      throw new SourceError('the query must be a single statement (a SELECT): there is more after a ";"', {
        ...where,
        field: `spec.source.${dialect}.query`,
      });
    }
    return settings.query;
  }
  if (settings.table !== undefined) return `SELECT * FROM ${quoteIdentifier(settings.table, dialect, where)}`;
  // The hub schema requires exactly one of the two; this only guards hand-built settings.
  throw new SourceError('the source gives neither table nor query', where);
}

/**
 * A driver error's own words for a SourceError message, with every registered secret
 * scrubbed out. Connecting to a name that resolves to several addresses fails with an
 * AggregateError whose message is empty, so its inner errors are used instead.
 */
export function causeText(cause: unknown, scrub: (text: string) => string): string {
  let text: string;
  if (cause instanceof AggregateError && cause.message === '') {
    text = cause.errors.map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner))).join('; ');
  } else if (cause instanceof Error) {
    text =
      cause.message ||
      ((cause as { code?: unknown }).code !== undefined ? String((cause as { code?: unknown }).code) : cause.name);
  } else {
    text = String(cause);
  }
  return scrub(text);
}

/** What a user is told when their query tried to change data inside the read-only transaction rows are read in. */
export const READ_ONLY_REFUSAL =
  'the query tried to change data: rows are read in a read-only transaction, so the query must only read (a SELECT)';

/** `2s`, `0.5s`: a timeout as the hub file wrote it. */
export function seconds(value: number): string {
  return `${value}s`;
}

/** TLS material as both drivers take it (`ssl` option), read from the hub's file paths. */
export type TlsMaterial = { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string };

/** A server source's password (from its passwordRef) and TLS files, read for one connection. */
export async function serverCredentials(
  hub: { name: string; file: string },
  settings: Pick<SqlServerSource, 'passwordRef' | 'tls'>,
  type: SqlDialect,
  secretEnv: SecretEnv,
): Promise<{ password: string | undefined; ssl: TlsMaterial | undefined }> {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const password =
    settings.passwordRef === undefined
      ? undefined
      : await resolveSecret(settings.passwordRef, secretEnv, { ...where, field: `spec.source.${type}.passwordRef` });
  return { password, ssl: await readTlsMaterial(settings.tls, hub.file, where, `spec.source.${type}.tls`) };
}

/**
 * Read the CA, certificate and key files a hub names. Relative paths are taken from the
 * hub file's folder, like every other path in a hub, so a hub works from any cwd.
 */
export async function readTlsMaterial(
  tls: TlsOptions | undefined,
  hubFile: string,
  where: ErrorWhere,
  field: string,
): Promise<TlsMaterial | undefined> {
  if (tls === undefined || !tls.enabled) return undefined;
  const material: TlsMaterial = { rejectUnauthorized: tls.rejectUnauthorized };
  const files = [
    ['ca', tls.caFile],
    ['cert', tls.certFile],
    ['key', tls.keyFile],
  ] as const;
  for (const [key, file] of files) {
    if (file === undefined) continue;
    const resolved = path.resolve(path.dirname(hubFile), file);
    try {
      material[key] = await readFile(resolved, 'utf8');
    } catch (cause) {
      throw new SourceError(
        `cannot read TLS ${key} file ${resolved}`,
        { ...where, field: `${field}.${key}File` },
        { cause },
      );
    }
  }
  return material;
}
