import { isPlainObject } from './canonical-yaml.ts';

const STRING_MAPS: Readonly<Record<string, readonly string[]>> = {
  ConfigMap: ['data'],
  Secret: ['data', 'stringData'],
};

/**
 * Lynq's rule for ConfigMap and Secret data: a value is always a string, so a typed filter
 * there (`"{{ replicas | int }}"`, `'{{ "true" | bool }}'`) gives its text, not a number
 * or a boolean the API server would refuse. Only values the form wrote as templates
 * (strings) are turned back into text; a literal number in the form stays an error.
 */
export function keepDataStrings(manifest: Record<string, unknown>, source: Readonly<Record<string, unknown>>): void {
  const fields = typeof manifest.kind === 'string' ? STRING_MAPS[manifest.kind] : undefined;
  for (const field of fields ?? []) {
    const rendered = manifest[field];
    const written = source[field];
    if (!isPlainObject(rendered) || !isPlainObject(written)) continue;
    for (const [key, value] of Object.entries(rendered)) {
      if (typeof written[key] !== 'string') continue;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
        rendered[key] = String(value);
    }
  }
}
