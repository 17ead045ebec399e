import type { Logger, SecretRegistry } from '../logger.ts';
import { createOctokit, forgeFailure, type GitHubClient, type OctokitOptions } from './octokit.ts';
import { parseRepoUrl } from './repo-url.ts';
import { staticToken } from './static-token.ts';
import type { CredentialProvider } from './types.ts';

/** The credentials a hub names for GitHub, already read from their secrets. */
export type ForgeCredentials =
  | { type: 'token'; token: string }
  | { type: 'app'; appId: number | string; privateKey: string; installationId?: number };

export type CredentialOptions = Omit<OctokitOptions, 'auth' | 'readOnly'> & { registry: SecretRegistry };

/** An installation token is replaced this long before GitHub says it expires (a push may take a while). */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * The credential provider for a hub's GitHub credentials. Every secret it holds or
 * mints is registered with the log scrubber here, once, before anything can log it.
 */
export function createCredentialProvider(
  credentials: ForgeCredentials,
  options: CredentialOptions,
): CredentialProvider {
  if (credentials.type === 'token') {
    options.registry.add(credentials.token);
    return staticToken(credentials.token);
  }
  options.registry.add(credentials.privateKey);
  const app = createOctokit({
    ...options,
    auth: { type: 'app', appId: credentials.appId, privateKey: credentials.privateKey },
  });
  return new GitHubAppCredentials(app, {
    ...credentials,
    registry: options.registry,
    logger: options.logger,
    now: options.now ?? Date.now,
  });
}

type Minted = { token: string; expiresAt: number };

/**
 * A GitHub App: its signed JWT finds the installation that covers a repository (unless
 * the hub names it) and mints that installation's token, which is cached until five
 * minutes before it expires. Concurrent callers share one mint.
 */
export class GitHubAppCredentials implements CredentialProvider {
  readonly identity: string;
  private readonly installations = new Map<string, Promise<number>>();
  private readonly tokens = new Map<number, Promise<Minted>>();

  constructor(
    private readonly app: GitHubClient,
    private readonly options: {
      appId: number | string;
      installationId?: number;
      registry: SecretRegistry;
      logger: Logger;
      now: () => number;
    },
  ) {
    this.identity = `app:${options.appId}`;
  }

  async tokenFor(repoUrl: string): Promise<string> {
    const installationId = await this.installationFor(repoUrl);
    const cached = this.tokens.get(installationId);
    if (cached !== undefined) {
      const minted = await cached.catch(() => undefined);
      if (minted !== undefined && minted.expiresAt - this.options.now() > REFRESH_BEFORE_MS) return minted.token;
      // Someone else may have started a fresh mint while this one was awaited.
      if (this.tokens.get(installationId) !== cached) return this.tokenFor(repoUrl);
    }
    const minting = this.mint(installationId);
    this.tokens.set(installationId, minting);
    minting.catch(() => {
      if (this.tokens.get(installationId) === minting) this.tokens.delete(installationId);
    });
    return (await minting).token;
  }

  private installationFor(repoUrl: string): Promise<number> {
    if (this.options.installationId !== undefined) return Promise.resolve(this.options.installationId);
    const { owner, repo } = parseRepoUrl(repoUrl);
    const key = `${owner}/${repo}`;
    let found = this.installations.get(key);
    if (found === undefined) {
      found = this.app.rest.apps.getRepoInstallation({ owner, repo }).then(
        (response) => response.data.id,
        (error: unknown) => {
          this.installations.delete(key);
          throw forgeFailure(error, `finding the GitHub App installation for ${key}`, key);
        },
      );
      this.installations.set(key, found);
    }
    return found;
  }

  private async mint(installationId: number): Promise<Minted> {
    let data: { token: string; expires_at: string };
    try {
      ({ data } = await this.app.rest.apps.createInstallationAccessToken({ installation_id: installationId }));
    } catch (error) {
      throw forgeFailure(
        error,
        `minting a token for GitHub App installation ${installationId}`,
        `app ${this.options.appId}`,
      );
    }
    this.options.registry.add(data.token);
    const expiresAt = Date.parse(data.expires_at);
    this.options.logger.debug({ installationId, expiresAt: data.expires_at }, 'github app installation token minted');
    return { token: data.token, expiresAt: Number.isNaN(expiresAt) ? this.options.now() + 3600_000 : expiresAt };
  }
}
