import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { ForgeError } from '../errors.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import { BRIDGE_VERSION } from '../version.ts';
import type { RepoCoordinates } from './repo-url.ts';

export type GitHubAuth =
  | { type: 'token'; token: string }
  | { type: 'app'; appId: number | string; privateKey: string; installationId?: number };

export type OctokitOptions = {
  /** REST base URL: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  baseUrl: string;
  auth: GitHubAuth;
  /** The repository, to find a GitHub App's installation when its id is not given. */
  coordinates: RepoCoordinates;
  logger: Logger;
  registry: SecretRegistry;
  /** Retries after a 5xx or a rate limit (each request). */
  maxRetries: number;
  /** A rate limit that resets later than this fails instead of waiting. */
  maxRetryWaitSeconds: number;
  /** Per request. */
  timeoutMs?: number;
  /** Injected so tests can see the waits without waiting. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
};

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one place that makes a GitHub client: authentication (a token, or a GitHub App
 * installation through a private key), retries, timeouts and logging. Headers are never
 * logged (they carry the credentials); tokens are registered with the log scrubber.
 */
export async function createOctokit(options: OctokitOptions): Promise<Octokit> {
  const { auth } = options;
  if (auth.type === 'token') {
    options.registry.add(auth.token);
    return withRetries(new Octokit({ ...common(options), auth: auth.token }), options);
  }
  options.registry.add(auth.privateKey);
  const appAuth = { appId: auth.appId, privateKey: auth.privateKey, log: quietLog(options.logger) };
  let installationId = auth.installationId;
  if (installationId === undefined) {
    // The app's own JWT may ask GitHub which installation covers this repository.
    const app = withRetries(new Octokit({ ...common(options), authStrategy: createAppAuth, auth: appAuth }), options);
    const { owner, repo } = options.coordinates;
    try {
      installationId = (await app.rest.apps.getRepoInstallation({ owner, repo })).data.id;
    } catch (error) {
      throw forgeFailure(error, `finding the GitHub App installation for ${owner}/${repo}`, `${owner}/${repo}`);
    }
  }
  return withRetries(new Octokit({ ...common(options), authStrategy: createAppAuth, auth: { ...appAuth, installationId } }), options);
}

function common(options: OctokitOptions) {
  return { baseUrl: options.baseUrl.replace(/\/+$/, ''), userAgent: `lynq-gitops-bridge/${BRIDGE_VERSION}`, log: quietLog(options.logger) };
}

/** Octokit's request log passes request options (with headers) to `debug`: drop that one. */
function quietLog(logger: Logger) {
  const line = (level: 'debug' | 'warn') => (message: string) => logger[level]({ detail: String(message) }, 'github');
  return { debug: () => undefined, info: line('debug'), warn: line('warn'), error: line('debug') };
}

type HttpErrorLike = { status?: unknown; response?: { headers?: Record<string, string | number | undefined> } };

export function statusOf(error: unknown): number | undefined {
  const status = (error as HttpErrorLike | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

function headersOf(error: unknown): Record<string, string | number | undefined> {
  return (error as HttpErrorLike | undefined)?.response?.headers ?? {};
}

/**
 * How long to wait before trying a failed request again, or undefined when it should
 * not be retried. GitHub's rules: Retry-After when present; at x-ratelimit-reset when
 * x-ratelimit-remaining is 0; a 429 without either waits a minute. 5xx back off
 * exponentially. Other 4xx (a plain 403 is a missing permission) are final.
 */
export function retryDelayMs(error: unknown, attempt: number, now: number): number | undefined {
  const status = statusOf(error);
  if (status === undefined) return undefined;
  const headers = headersOf(error);
  if (status === 403 || status === 429) {
    const retryAfter = headers['retry-after'];
    if (retryAfter !== undefined && Number.isFinite(Number(retryAfter))) return Math.max(0, Number(retryAfter)) * 1000;
    const reset = headers['x-ratelimit-reset'];
    if (String(headers['x-ratelimit-remaining']) === '0' && reset !== undefined) return Math.max(0, Number(reset) * 1000 - now) + 1000;
    return status === 429 ? 60_000 : undefined;
  }
  if (status >= 500) return 1000 * 2 ** attempt;
  return undefined;
}

/** A rate limit, as opposed to a permission problem (both can be 403). */
export function isRateLimit(error: unknown): boolean {
  const status = statusOf(error);
  const headers = headersOf(error);
  return (status === 403 || status === 429) && (headers['retry-after'] !== undefined || String(headers['x-ratelimit-remaining']) === '0' || status === 429);
}

function withRetries<T extends Octokit>(octokit: T, options: OctokitOptions): T {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  octokit.hook.wrap('request', async (request, requestOptions) => {
    for (let attempt = 0; ; attempt++) {
      try {
        // A fresh deadline per try: a hung connection must not hang the sync.
        return await request({ ...requestOptions, request: { ...requestOptions.request, signal: AbortSignal.timeout(timeoutMs) } });
      } catch (error) {
        const wait = retryDelayMs(error, attempt, now());
        if (wait === undefined || attempt >= options.maxRetries || wait > options.maxRetryWaitSeconds * 1000) throw error;
        options.logger.warn({ status: statusOf(error), method: requestOptions.method, url: requestOptions.url, waitMs: wait, attempt: attempt + 1 }, 'github request failed; retrying');
        await sleep(wait);
      }
    }
  });
  return octokit;
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
  if (status === 401) detail = `GitHub refused the credentials (401) ${at}${because}; check spec.publish.platform.token or .app (or spec.publish.auth.token)`;
  else if (isRateLimit(error)) detail = `GitHub rate limit (${status}) ${at}, still limited after the allowed retries and waits${because}`;
  else if (status === 403) detail = `GitHub forbids this (403) ${at}${because}; the token or app needs pull requests, issues and contents: write`;
  else if (status === 404) detail = `GitHub answered not found (404) ${at}${because}; the repository does not exist, or these credentials cannot see it`;
  else if (status === 422) detail = `GitHub rejected the request (422) ${at}${because}`;
  else if (status !== undefined && status >= 500) detail = `GitHub failed (${status}) ${at}, also on every retry${because}`;
  else detail = `GitHub request failed ${at}: ${error instanceof Error ? error.message : String(error)}`;
  return new ForgeError(detail, {}, { cause: error });
}

function githubMessage(error: unknown): string | undefined {
  const data = (error as { response?: { data?: unknown } } | undefined)?.response?.data;
  if (data !== null && typeof data === 'object' && 'message' in data && typeof data.message === 'string') {
    const errors = 'errors' in data && Array.isArray(data.errors) ? data.errors.map((item: unknown) => (item as { message?: string })?.message).filter(Boolean) : [];
    return [data.message, ...errors].join('; ');
  }
  return undefined;
}
