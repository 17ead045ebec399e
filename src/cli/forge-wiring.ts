import { DEFAULT_API_URL, Platform } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { resolveSecret, type SecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import type { ForgeCredentials } from '../forge/credentials.ts';
import { DryRunPullRequests } from '../forge/dry-run.ts';
import type { GitHubLimits } from '../forge/pacing.ts';
import { parseRepoUrl } from '../forge/repo-url.ts';
import { staticToken } from '../forge/static-token.ts';
import type { CredentialProvider, PullRequestClient } from '../forge/types.ts';
import type { Logger } from '../logger.ts';

export type ForgeWiring = {
  logger: Logger;
  secretEnv: SecretEnv;
  dryRun: boolean;
  out: NodeJS.WritableStream;
  /** Tests see rate-limit waits without waiting, measured on their clock. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Stops GitHub requests in flight and waits for a rate limit (a service shutting down). */
  signal?: AbortSignal;
};

export type Forges = {
  /** The hub's pull-request client, GitHub's or GitLab's (for a dry run, one that reads and never writes). */
  openForge(hub: Hub, repoUrl: string): Promise<PullRequestClient>;
  /**
   * The hub's forge credentials, for git to borrow: undefined when the hub names none
   * (and, for a dry run, when they cannot be read: it goes on offline).
   */
  credentials(hub: Hub): Promise<CredentialProvider | undefined>;
};

type Resolved = { provider: CredentialProvider; platform: Platform } | { missing: string; platform: Platform };

/** The throttling limiters of the run, one set per write interval (made on first use). */
type LimitsFor = (intervalMs: number) => Promise<GitHubLimits>;

/**
 * Forges and credentials per hub, made once per run: git borrows a token before the
 * sync asks for pull requests, and both must use the same provider (one installation
 * token, minted once). The throttling limiters are shared by every client of the run,
 * so writes with one credential go one at a time across hubs.
 */
export function createForges(options: ForgeWiring): Forges {
  const resolved = new Map<string, Promise<Resolved>>();
  const opened = new Map<string, Promise<PullRequestClient>>();
  const limits = new Map<number, Promise<GitHubLimits>>();
  const limitsFor: LimitsFor = (intervalMs) => {
    let found = limits.get(intervalMs);
    if (found === undefined)
      limits.set(
        intervalMs,
        (found = import('../forge/pacing.ts').then(({ gitHubLimits }) =>
          gitHubLimits({ writeIntervalMs: intervalMs }),
        )),
      );
    return found;
  };
  const resolve = (hub: Hub): Promise<Resolved> => {
    let found = resolved.get(hub.name);
    if (found === undefined) {
      found = resolveCredentials(hub, options, limitsFor);
      resolved.set(hub.name, found);
    }
    return found;
  };
  return {
    openForge(hub, repoUrl) {
      let forge = opened.get(hub.name);
      if (forge === undefined) {
        forge = openForge(hub, repoUrl, options, resolve, limitsFor);
        opened.set(hub.name, forge);
      }
      return forge;
    },
    async credentials(hub) {
      const found = await resolve(hub);
      return 'provider' in found ? found.provider : undefined;
    },
  };
}

async function openForge(
  hub: Hub,
  repoUrl: string,
  options: ForgeWiring,
  resolve: (hub: Hub) => Promise<Resolved>,
  limitsFor: LimitsFor,
): Promise<PullRequestClient> {
  const where = { hub: hub.name, file: hub.file, field: 'spec.publish.repo' };
  if (options.dryRun) {
    let repository: string;
    try {
      repository = await repositoryName(hub, repoUrl, where);
    } catch {
      return offline(options.out, repoUrl, 'the manifests repository is not on a forge');
    }
    const found = await resolve(hub);
    if ('missing' in found) return offline(options.out, repository, found.missing);
    // The real client, reading; its every write throws before it is sent.
    return new DryRunPullRequests(
      options.out,
      repository,
      await open(hub, repoUrl, found.provider, found.platform, options, limitsFor, true),
    );
  }
  parseRepoUrl(repoUrl, where);
  const found = await resolve(hub);
  if ('missing' in found) {
    const needs =
      forgeOf(hub) === 'gitlab'
        ? 'merge requests need a GitLab token: spec.publish.platform.token, or spec.publish.auth.token'
        : 'pull requests need GitHub credentials: spec.publish.platform.token, spec.publish.platform.app, or spec.publish.auth.token';
    throw new ConfigError(needs, {
      hub: hub.name,
      file: hub.file,
      field: 'spec.publish.platform',
    });
  }
  return open(hub, repoUrl, found.provider, found.platform, options, limitsFor, false);
}

function offline(out: NodeJS.WritableStream, repository: string, why: string): PullRequestClient {
  out.write(`dry run: offline (${why}): pull requests in ${repository} were not read\n`);
  return new DryRunPullRequests(out, repository, undefined);
}

function forgeOf(hub: Hub): Platform['type'] {
  return hub.spec.publish.platform?.type ?? 'github';
}

/** `owner/repo` on GitHub, the project's full path on GitLab: for messages. */
async function repositoryName(
  hub: Hub,
  repoUrl: string,
  where: { hub: string; file: string; field: string },
): Promise<string> {
  if (forgeOf(hub) === 'gitlab') return (await import('../forge/gitlab/index.ts')).projectPath(repoUrl, where);
  const { owner, repo } = parseRepoUrl(repoUrl, where);
  return `${owner}/${repo}`;
}

/**
 * A forge's client is loaded here, by the first hub that talks to it (Octokit and its
 * plugins for GitHub, src/forge/gitlab for GitLab): a sync that pushes to a plain
 * repository, and every command that never opens a pull request, do without them.
 */
async function open(
  hub: Hub,
  repoUrl: string,
  credentials: CredentialProvider,
  platform: Platform,
  options: ForgeWiring,
  limitsFor: LimitsFor,
  readOnly: boolean,
): Promise<PullRequestClient> {
  const settings = await clientSettings(hub, platform, options, limitsFor);
  const logger = options.logger.child({
    hub: hub.name,
    repository: await repositoryName(hub, repoUrl, { hub: hub.name, file: hub.file, field: 'spec.publish.repo' }),
  });
  if (platform.type === 'gitlab') {
    const { openGitLab } = await import('../forge/gitlab/index.ts');
    return openGitLab({ ...settings, logger, credentials, repoUrl, readOnly });
  }
  const { openGitHub } = await import('../forge/github.ts');
  return openGitHub({ ...settings, logger, credentials, repoUrl, readOnly });
}

async function clientSettings(hub: Hub, platform: Platform, options: ForgeWiring, limitsFor: LimitsFor) {
  return {
    baseUrl: platform.apiUrl ?? DEFAULT_API_URL[platform.type],
    logger: options.logger.child({ hub: hub.name }),
    maxRetries: platform.maxRetries,
    maxRetryWaitSeconds: platform.maxRetryWaitSeconds,
    limits: await limitsFor(platform.writeIntervalMs),
    sleep: options.sleep,
    now: options.now,
    signal: options.signal,
  };
}

/**
 * A GitHub App, else the platform's token, else the git token: one PAT can serve both.
 * For a dry run, credentials that cannot be read are "missing" (it goes on offline, as
 * without any); for a sync they are the ConfigError they always were.
 */
async function resolveCredentials(hub: Hub, options: ForgeWiring, limitsFor: LimitsFor): Promise<Resolved> {
  const platform = hub.spec.publish.platform ?? Platform.parse({});
  let credentials: ForgeCredentials | undefined;
  try {
    credentials = await readCredentials(hub, platform, options.secretEnv);
  } catch (error) {
    if (!options.dryRun || !(error instanceof ConfigError)) throw error;
    return { missing: `${forgeLabel(platform)} credentials cannot be read: ${error.detail}`, platform };
  }
  if (credentials === undefined) return { missing: `no ${forgeLabel(platform)} credentials`, platform };
  if (credentials.type === 'token') {
    // A token needs no client of its own (git borrows it as it is), so no forge client is loaded for it.
    options.secretEnv.registry.add(credentials.token);
    return {
      provider: staticToken(credentials.token, platform.type === 'gitlab' ? GITLAB_GIT_USERNAME : undefined),
      platform,
    };
  }
  const { createCredentialProvider } = await import('../forge/credentials.ts');
  const provider = createCredentialProvider(credentials, {
    ...(await clientSettings(hub, platform, options, limitsFor)),
    registry: options.secretEnv.registry,
  });
  return { provider, platform };
}

/** GitLab takes an access token over HTTPS as the password of this user. */
const GITLAB_GIT_USERNAME = 'oauth2';

function forgeLabel(platform: Platform): string {
  return platform.type === 'gitlab' ? 'GitLab' : 'GitHub';
}

async function readCredentials(
  hub: Hub,
  platform: Platform,
  secretEnv: SecretEnv,
): Promise<ForgeCredentials | undefined> {
  const where = { hub: hub.name, file: hub.file };
  if (platform.app !== undefined) {
    const privateKey = await resolveSecret(platform.app.privateKey, secretEnv, {
      ...where,
      field: 'spec.publish.platform.app.privateKey',
    });
    return { type: 'app', appId: platform.app.appId, privateKey, installationId: platform.app.installationId };
  }
  const ref = platform.token ?? hub.spec.publish.auth?.token;
  if (ref === undefined) return undefined;
  const field = platform.token !== undefined ? 'spec.publish.platform.token' : 'spec.publish.auth.token';
  return { type: 'token', token: await resolveSecret(ref, secretEnv, { ...where, field }) };
}
