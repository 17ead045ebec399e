import { createHash } from 'node:crypto';
import { compareStrings, isPlainObject } from './canonical-yaml.ts';

/** JSON with sorted keys: the same value always hashes the same. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort(compareStrings);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The id git gives a file with this content; lets us compare with a tree without writing. */
export function gitBlobId(content: string | Buffer): string {
  // Hashing the string directly saves copying every rendered file into a Buffer first.
  if (typeof content === 'string')
    return createHash('sha1')
      .update(`blob ${Buffer.byteLength(content, 'utf8')}\0`)
      .update(content, 'utf8')
      .digest('hex');
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
