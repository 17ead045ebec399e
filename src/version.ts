import { readFileSync } from 'node:fs';

/** The bridge version; part of every node's input hash, so an upgrade re-renders visibly. */
export const BRIDGE_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
