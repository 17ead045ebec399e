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
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value);
}

/** Lynq's truthy strings for the activate column. */
const TRUTHY = new Set(['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'Yes']);

export function isActive(value: string): boolean {
  return TRUTHY.has(value);
}
