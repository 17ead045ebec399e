import { Platform } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { resolveSecret, type SecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { DryRunPullRequests } from '../forge/dry-run.ts';
import { openGitHub } from '../forge/github.ts';
import type { GitHubAuth } from '../forge/octokit.ts';
import { parseRepoUrl } from '../forge/repo-url.ts';
import type { PullRequestClient } from '../forge/types.ts';
import type { Logger } from '../logger.ts';

export type ForgeWiring = {
  logger: Logger;
  secretEnv: SecretEnv;
  dryRun: boolean;
  out: NodeJS.WritableStream;
  /** Tests see rate-limit waits without waiting. */
  sleep?: (ms: number) => Promise<void>;
};

/**
 * Forges per hub, made once per run: the git side asks for a GitHub App's installation
 * token before the sync asks for pull requests, and both must get the same client.
 */
export function forgeOpener(options: ForgeWiring): (hub: Hub, repoUrl: string) => Promise<PullRequestClient> {
  const opened = new Map<string, Promise<PullRequestClient>>();
  return (hub, repoUrl) => {
    let forge = opened.get(hub.name);
    if (forge === undefined) {
      forge = openForge(hub, repoUrl, options);
      opened.set(hub.name, forge);
    }
    return forge;
  };
}

async function openForge(hub: Hub, repoUrl: string, options: ForgeWiring): Promise<PullRequestClient> {
  const platform = hub.spec.publish.platform ?? Platform.parse({});
  const where = { hub: hub.name, file: hub.file, field: 'spec.publish.repo' };
  if (options.dryRun) {
    // A dry run does not talk to the forge; a GitHub App's token is still minted when git needs one to read.
    let repository = repoUrl;
    try {
      const { owner, repo } = parseRepoUrl(repoUrl, where);
      repository = `${owner}/${repo}`;
    } catch {
      // a local path: fine for a dry run
    }
    const token = platform.app === undefined ? undefined : async () => (await openReal(hub, repoUrl, platform, options)).gitToken();
    return new DryRunPullRequests(options.out, repository, token);
  }
  return openReal(hub, repoUrl, platform, options);
}

async function openReal(hub: Hub, repoUrl: string, platform: Platform, options: ForgeWiring): Promise<PullRequestClient> {
  const coordinates = parseRepoUrl(repoUrl, { hub: hub.name, file: hub.file, field: 'spec.publish.repo' });
  const auth = await resolveForgeAuth(hub, platform, options.secretEnv);
  return openGitHub({
    baseUrl: platform.apiUrl,
    auth,
    coordinates,
    logger: options.logger.child({ hub: hub.name, repository: `${coordinates.owner}/${coordinates.repo}` }),
    registry: options.secretEnv.registry,
    maxRetries: platform.maxRetries,
    maxRetryWaitSeconds: platform.maxRetryWaitSeconds,
    sleep: options.sleep,
  });
}

/** A GitHub App, else the platform's token, else the git token: one PAT can serve both. */
async function resolveForgeAuth(hub: Hub, platform: Platform, secretEnv: SecretEnv): Promise<GitHubAuth> {
  const where = { hub: hub.name, file: hub.file };
  if (platform.app !== undefined) {
    const privateKey = await resolveSecret(platform.app.privateKey, secretEnv, { ...where, field: 'spec.publish.platform.app.privateKey' });
    return { type: 'app', appId: platform.app.appId, privateKey, installationId: platform.app.installationId };
  }
  const ref = platform.token ?? hub.spec.publish.auth?.token;
  if (ref === undefined) {
    throw new ConfigError('pull requests need GitHub credentials: spec.publish.platform.token, spec.publish.platform.app, or spec.publish.auth.token', {
      ...where,
      field: 'spec.publish.platform',
    });
  }
  const field = platform.token !== undefined ? 'spec.publish.platform.token' : 'spec.publish.auth.token';
  return { type: 'token', token: await resolveSecret(ref, secretEnv, { ...where, field }) };
}
