import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { ForgeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { BRIDGE_VERSION } from '../version.ts';
import { gitHubLimits, installPacing, type GitHubLimits } from './pacing.ts';
import type { CredentialProvider } from './types.ts';

/**
 * How a client authenticates: with tokens from a credential provider (the API for one
 * repository), or as a GitHub App itself (a signed JWT: finding installations, minting
 * their tokens; used by the provider only).
 */
export type OctokitAuth =
  | { type: 'credentials'; credentials: CredentialProvider; repoUrl: string }
  | { type: 'app'; appId: number | string; privateKey: string };

export type OctokitOptions = {
  /** REST base URL: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  baseUrl: string;
  auth: OctokitAuth;
  logger: Logger;
  /** Retries after a 5xx or a rate limit (each request). */
  maxRetries: number;
  /** A rate limit that resets later than this fails instead of waiting. */
  maxRetryWaitSeconds: number;
  /** Per try. */
  timeoutMs?: number;
  /** The throttling plugin's limiters, shared by the clients of one run; GitHub's pacing when not given. */
  limits?: GitHubLimits;
  /** Every request that is not a read throws before it is sent (a dry run). */
  readOnly?: boolean;
  signal?: AbortSignal;
  /** Injected so tests can see the waits without waiting. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
};

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Our pacing hook first, so it sits inside both plugins and runs once per try. */
const paced: Parameters<typeof Octokit.plugin>[0] = (octokit, options) =>
  (options as { lynqPacing?: (octokit: unknown) => object }).lynqPacing?.(octokit) ?? {};
const GitHubClient = Octokit.plugin(paced, retry, throttling);
export type GitHubClient = InstanceType<typeof GitHubClient>;

/** Statuses the retry plugin leaves alone: final answers, and rate limits (the throttling plugin's). */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

/**
 * The one place that makes a GitHub client: authentication, retries and rate limits
 * (through Octokit's retry and throttling plugins), one write at a time, timeouts,
 * logging, and for a dry run the one gate that keeps every write from being sent.
 * Headers are never logged (they carry the credentials).
 */
export function createOctokit(options: OctokitOptions): GitHubClient {
  const { auth } = options;
  const limits = options.limits ?? gitHubLimits({ writeIntervalMs: 1000 });
  // The app's own client mints tokens while a write of the repository's client may wait for one: never the same queue.
  const identity = auth.type === 'app' ? `app-jwt:${auth.appId}` : auth.credentials.identity;
  const pacing = {
    logger: options.logger,
    maxRetries: options.maxRetries,
    maxRetryWaitSeconds: options.maxRetryWaitSeconds,
    timeoutMs: options.timeoutMs ?? 30_000,
    sleep: options.sleep ?? defaultSleep,
    now: options.now ?? Date.now,
    signal: options.signal,
    writes: { group: limits.writes, identity },
  };
  let handlers: ReturnType<typeof installPacing> | undefined;
  const lynqPacing = (octokit: unknown) => {
    handlers = installPacing(octokit as unknown as Parameters<typeof installPacing>[0], pacing);
    return {};
  };
  const authOptions =
    auth.type === 'app'
      ? {
          authStrategy: createAppAuth,
          auth: { appId: auth.appId, privateKey: auth.privateKey, log: quietLog(options.logger) },
        }
      : { authStrategy: providerAuth, auth: { credentials: auth.credentials, repoUrl: auth.repoUrl } };
  const octokit = new GitHubClient({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    userAgent: `lynq-gitops-bridge/${BRIDGE_VERSION}`,
    log: quietLog(options.logger),
    lynqPacing,
    ...authOptions,
    retry: { retries: options.maxRetries, retryAfterBaseValue: 0, doNotRetry: DO_NOT_RETRY },
    throttle: {
      id: identity,
      ...limits.groups,
      // The handlers wait (through the injected sleep); the plugin adds nothing.
      retryAfterBaseValue: 0,
      onRateLimit: (...args) => handlers!.onRateLimit(...args),
      onSecondaryRateLimit: (...args) => handlers!.onSecondaryRateLimit(...args),
    },
  });
  if (options.readOnly) {
    octokit.hook.before('request', (request) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        throw new ForgeError(`a dry run does not write to GitHub: ${request.method} ${request.url} was not sent`);
      }
    });
  }
  return octokit;
}

/**
 * Octokit's auth strategy over a credential provider: a token asked for per request,
 * so an installation token that expired is replaced without a new client.
 */
function providerAuth(options: { credentials: CredentialProvider; repoUrl: string }) {
  const token = () => options.credentials.tokenFor(options.repoUrl);
  type Request = ((endpoint: object) => Promise<unknown>) & {
    endpoint: { merge(route: unknown, parameters?: unknown): { headers: Record<string, string> } };
  };
  return Object.assign(async () => ({ type: 'token', tokenType: 'oauth', token: await token() }), {
    hook: async (request: Request, route: unknown, parameters?: unknown) => {
      const endpoint = request.endpoint.merge(route, parameters);
      endpoint.headers.authorization = `token ${await token()}`;
      return request(endpoint);
    },
  });
}

/** Octokit's request log passes request options (with headers) to `debug`: drop that one. */
function quietLog(logger: Logger) {
  const line = (level: 'debug' | 'warn') => (message: string) => logger[level]({ detail: String(message) }, 'github');
  return { debug: () => undefined, info: line('debug'), warn: line('warn'), error: line('debug') };
}

type HttpErrorLike = {
  status?: unknown;
  message?: unknown;
  response?: { headers?: Record<string, string | number | undefined> };
};

export function statusOf(error: unknown): number | undefined {
  const status = (error as HttpErrorLike | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * A rate limit, as opposed to a permission problem (both can be 403): what GitHub
 * documents and the throttling plugin reads, x-ratelimit-remaining 0 or a message that
 * says "secondary rate limit"; any 429.
 */
export function isRateLimit(error: unknown): boolean {
  const status = statusOf(error);
  if (status === 429) return true;
  if (status !== 403) return false;
  const headers = (error as HttpErrorLike).response?.headers ?? {};
  const message = (error as HttpErrorLike).message;
  return (
    String(headers['x-ratelimit-remaining']) === '0' ||
    (typeof message === 'string' && /\bsecondary rate\b/i.test(message))
  );
}

/**
 * A failed request as a ForgeError that says what was tried, on which repository, and
 * what to check. GitHub's own message is kept; credentials never appear in either.
 */
export function forgeFailure(error: unknown, operation: string, repository: string): ForgeError {
  if (error instanceof ForgeError) return error;
  const status = statusOf(error);
  const said = githubMessage(error);
  const because = said ? `: ${said}` : '';
  const at = `while ${operation} in ${repository}`;
  let detail: string;
  if (status === 401)
    detail = `GitHub refused the credentials (401) ${at}${because}; check spec.publish.platform.token or .app (or spec.publish.auth.token)`;
  else if (isRateLimit(error))
    detail = `GitHub rate limit (${status}) ${at}, still limited after the allowed retries and waits${because}`;
  else if (status === 403)
    detail = `GitHub forbids this (403) ${at}${because}; the token or app needs pull requests, issues and contents: write`;
  else if (status === 404)
    detail = `GitHub answered not found (404) ${at}${because}; the repository does not exist, or these credentials cannot see it`;
  else if (status === 422) detail = `GitHub rejected the request (422) ${at}${because}`;
  else if (status !== undefined && status >= 500)
    detail = `GitHub failed (${status}) ${at}, also on every retry${because}`;
  else detail = `GitHub request failed ${at}: ${error instanceof Error ? error.message : String(error)}`;
  return new ForgeError(detail, {}, { cause: error });
}

function githubMessage(error: unknown): string | undefined {
  const data = (error as { response?: { data?: unknown } } | undefined)?.response?.data;
  if (data !== null && typeof data === 'object' && 'message' in data && typeof data.message === 'string') {
    const errors =
      'errors' in data && Array.isArray(data.errors)
        ? data.errors.map((item: unknown) => (item as { message?: string })?.message).filter(Boolean)
        : [];
    return [data.message, ...errors].join('; ');
  }
  return undefined;
}
