import { createHash } from 'node:crypto';
import type { CredentialProvider } from './types.ts';

/**
 * A personal access token (or any fixed token): the same for every repository. Its own
 * module, free of Octokit, so a hub that only pushes with a token never loads the client.
 */
export function staticToken(token: string): CredentialProvider {
  return { identity: `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`, tokenFor: async () => token };
}
