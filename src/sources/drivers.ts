import { requireBundled } from '../config/bundled-require.ts';

/**
 * The database drivers, loaded on first use: a command starts without the one its hubs
 * do not use (and `lynq validate`, `render` or `history` without either).
 */

export async function loadPg(): Promise<typeof import('pg').default> {
  // pg asks at load whether it runs in a Cloudflare Worker: without a global `navigator`
  // (Node 20 has none; 21+ does) it builds a fetch Response to find out, which loads
  // Node's whole fetch implementation, about a sixth of a sync's start-up. Node 21's
  // answer is given for the one synchronous require, and taken away again at once.
  const global = globalThis as { navigator?: unknown };
  if (global.navigator !== undefined) return requirePg();
  global.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    return requirePg();
  } finally {
    delete global.navigator;
  }
}

function requirePg(): typeof import('pg').default {
  return requireBundled('pg', () => require('pg'));
}

export async function loadMysql() {
  return (await import('mysql2/promise')).default;
}
