/**
 * Row values become strings for templates, as in Lynq: numbers in decimal, booleans
 * `true`/`false`, dates ISO-8601 UTC, NULL as the empty string. JSON columns become
 * their JSON text, binary columns their UTF-8 text.
 */
export function valueToString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString(10);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (value instanceof Uint8Array) return decodeUtf8(value);
  return JSON.stringify(value);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes as UTF-8 text; bytes that are not UTF-8 throw (an InvalidTextError), never become U+FFFD silently. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch (cause) {
    throw new InvalidTextError(Buffer.from(bytes).toString('utf8'), { cause });
  }
}

/** A value that is not valid UTF-8; `lossy` is it with U+FFFD for the bad bytes, to name the row by. */
export class InvalidTextError extends Error {
  constructor(
    readonly lossy: string,
    options?: { cause?: unknown },
  ) {
    super('is not valid UTF-8', options);
  }
}

/** Lynq's truthy strings for the activate column. */
const TRUTHY = new Set(['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'Yes']);

export function isActive(value: string): boolean {
  return TRUTHY.has(value);
}
