import { readFileSync } from 'node:fs';

/** The bridge version; part of every node's input hash, so an upgrade re-renders visibly. */
export const BRIDGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The commit the running build was made from (dist/build-info.json, written by
 * scripts/build.ts), or undefined when run from the sources or built without one.
 * Not part of any hash: two builds of one version render alike.
 */
export const BRIDGE_COMMIT: string | undefined = buildCommit();

function buildCommit(): string | undefined {
  try {
    const info = JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as {
      commit?: unknown;
    };
    return typeof info.commit === 'string' && /^[0-9a-f]{7,64}$/.test(info.commit) ? info.commit : undefined;
  } catch {
    return undefined;
  }
}

/** What `lynq --version` prints: the version alone on its first line (as before), then the commit when known. */
export function versionText(): string {
  return BRIDGE_COMMIT === undefined ? BRIDGE_VERSION : `${BRIDGE_VERSION}\ncommit ${BRIDGE_COMMIT}`;
}
