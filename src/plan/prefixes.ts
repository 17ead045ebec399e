import type { Hub } from '../config/load.ts';

/**
 * The repository folders a hub owns and a sync may change: its node folders. Everything
 * else in the repository is left alone, and is not even listed.
 */
export function hubPrefixes(hub: Hub, root: string): string[] {
  return [`${root}/${hub.name}`];
}
