import { createHash } from 'node:crypto';
import type { CredentialProvider } from './types.ts';

/**
 * A personal access token (or any fixed token): the same for every repository. Its own
 * module, free of Octokit, so a hub that only pushes with a token never loads the client.
 */
export function staticToken(token: string, gitUsername?: string): CredentialProvider {
  const identity = `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
  return gitUsername === undefined
    ? { identity, tokenFor: async () => token }
    : { identity, tokenFor: async () => token, gitUsername };
}
