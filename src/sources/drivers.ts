import { createRequire } from 'node:module';

/**
 * The database drivers, loaded on first use: a command starts without the one its hubs
 * do not use (and `lynq validate`, `render` or `history` without either).
 */

const require = createRequire(import.meta.url);

export async function loadPg(): Promise<typeof import('pg').default> {
  // pg asks at load whether it runs in a Cloudflare Worker: without a global `navigator`
  // (Node 20 has none; 21+ does) it builds a fetch Response to find out, which loads
  // Node's whole fetch implementation, about a sixth of a sync's start-up. Node 21's
  // answer is given for the one synchronous require, and taken away again at once.
  const global = globalThis as { navigator?: unknown };
  if (global.navigator !== undefined) return require('pg');
  global.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    return require('pg');
  } finally {
    delete global.navigator;
  }
}

export async function loadMysql() {
  return (await import('mysql2/promise')).default;
}
