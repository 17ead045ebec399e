import { createRequire } from 'node:module';

const fromNode = createRequire(import.meta.url);

/**
 * A package the build bundles (scripts/build.ts), so that its code is compiled once and
 * kept between runs (bin/lynq.mjs). The caller passes `() => require('<name>')` with the
 * name written out: in the bundle `require` is CommonJS's, and esbuild bundles what a
 * literal require names. Running from source (ES modules) there is no `require`, and
 * Node's finds the same package by `name`.
 */
export function requireBundled<T>(name: string, bundled: () => T): T {
  return typeof require === 'function' ? bundled() : (fromNode(name) as T);
}
