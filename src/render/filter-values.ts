/**
 * How filters read their arguments: the coercions shared by every filter module (a row
 * value is text; JSON columns arrive decoded), and the types the catalogue is made of.
 */

export type FilterDoc = {
  name: string;
  signature: string;
  description: string;
  example: { template: string; vars: Record<string, string>; output: string };
};
// biome-ignore lint/suspicious/noExplicitAny: nunjucks calls filters with whatever the template passes; each filter checks its own arguments.
export type Filter = FilterDoc & { fn: (...args: any[]) => unknown };

/** nunjucks' SafeString inherits from String; unwrap it so `typeof` checks work. */
export function unwrap(value: unknown): unknown {
  return value instanceof String ? value.toString() : value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** JSON-ready copy with sorted keys, as Go's encoding/json (and so Sprig) writes maps. */
export function canonical(value: unknown): unknown {
  value = unwrap(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical(value[key])]),
    );
  }
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

export function jsonText(value: unknown): string {
  return JSON.stringify(canonical(value)) ?? 'null';
}

/** String filters see undefined/null as ''; collections as JSON; dates as ISO (no time zone). */
export function str(value: unknown): string {
  value = unwrap(value);
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) || isPlainObject(value)) return jsonText(value);
  return String(value);
}

/** How a bad value is shown in an error: quoted, and cut short (row values can be long). */
export function show(value: unknown): string {
  value = unwrap(value);
  if (value === undefined) return 'undefined';
  const text = typeof value === 'string' ? JSON.stringify(value) : str(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function toInt(value: unknown, filter = 'int'): number {
  value = unwrap(value);
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value + 0; // +0 turns -0 into 0
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) {
    const parsed = Number(value.trim());
    if (Number.isSafeInteger(parsed)) return parsed + 0;
    throw new Error(`${filter}: ${show(value)} is out of the safe integer range`);
  }
  throw new Error(`${filter}: ${show(value)} is not an integer`);
}

export function toFloat(value: unknown): number {
  value = unwrap(value);
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value === 'number' && Number.isFinite(value)) return value + 0;
  if (typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) {
    const parsed = Number(value.trim());
    if (Number.isFinite(parsed)) return parsed + 0;
  }
  throw new Error(`float: ${show(value)} is not a number`);
}

const TRUE_WORDS = new Set(['true', 'True', 'TRUE', '1', 'yes', 'Yes', 'YES']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', '0', 'no', 'No', 'NO', '']);

export function toBool(value: unknown, filter = 'bool'): boolean {
  value = unwrap(value);
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === null) return false; // as the empty string
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  if (text !== undefined && TRUE_WORDS.has(text)) return true;
  if (text !== undefined && FALSE_WORDS.has(text)) return false;
  throw new Error(`${filter}: ${show(value)} is not a boolean (use true/false, yes/no or 1/0)`);
}

export function fromJson(value: unknown): unknown {
  value = unwrap(value);
  if (value === undefined || value === null) throw new Error('fromJson: there is no value to parse');
  // Drivers already decode JSON columns (mysql2, pg): parsing those again would fail.
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`fromJson: ${show(value)} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Sprig's `empty`: what `default` replaces. */
export function isEmpty(value: unknown): boolean {
  value = unwrap(value);
  if (value === undefined || value === null || value === '' || value === false || value === 0 || value === 0n)
    return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof Map || value instanceof Set) return value.size === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}

/** A documented example: rendered by the tests and shown in docs/filters.md. */
export function example(template: string, vars: Record<string, string>, output: string): FilterDoc['example'] {
  return { template, vars, output };
}
