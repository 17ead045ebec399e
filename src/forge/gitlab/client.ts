import { ForgeError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { BRIDGE_VERSION } from '../../version.ts';
import { abortable, type GitHubLimits } from '../pacing.ts';
import type { CredentialProvider } from '../types.ts';

/**
 * The one place that talks to a GitLab REST API (v4): a small client over `fetch`
 * rather than `@gitbeaker/rest`, because the bridge needs a dozen calls and the same
 * pacing as its GitHub client: waits through an injected `sleep` and clock (so tests
 * see every wait without waiting), retries of 5xx and network failures with a backoff,
 * 429s waited out per `Retry-After` or `RateLimit-Reset` up to a limit, writes one at a
 * time per credential and spaced apart on the limiters the run shares with GitHub
 * clients, a timeout per try, and for a dry run one gate that keeps every write from
 * being sent. The token goes in the `PRIVATE-TOKEN` header, never in a URL or a log.
 */

export type GitLabOptions = {
  /** `https://gitlab.com/api/v4`, or `https://<host>/api/v4`. */
  baseUrl: string;
  credentials: CredentialProvider;
  /** The manifests repository URL (the credential provider is asked for a token for it). */
  repoUrl: string;
  logger: Logger;
  maxRetries: number;
  maxRetryWaitSeconds: number;
  timeoutMs?: number;
  limits: GitHubLimits;
  readOnly?: boolean;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
};

export type Query = Record<string, string | number | boolean | undefined>;

export type GitLabResponse<T> = { status: number; data: T; headers: Headers };

/** A GitLab answer that is not a success, as the client raises it (turned into a ForgeError by the caller, who knows what was tried). */
export class GitLabHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly said: string | undefined,
    readonly headers: Headers,
  ) {
    super(`GitLab answered ${status} to ${method} ${path}${said ? `: ${said}` : ''}`);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class GitLabClient {
  private readonly baseUrl: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: GitLabOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  get<T>(path: string, query: Query = {}): Promise<GitLabResponse<T>> {
    return this.request<T>('GET', path, query, undefined);
  }

  post<T>(path: string, body: object): Promise<GitLabResponse<T>> {
    return this.request<T>('POST', path, {}, body);
  }

  put<T>(path: string, body: object): Promise<GitLabResponse<T>> {
    return this.request<T>('PUT', path, {}, body);
  }

  /** Every page of a list (GitLab's `x-next-page` header), `per_page` 100, at most `maxPages`. */
  async all<T>(path: string, query: Query = {}, maxPages = 20): Promise<T[]> {
    const items: T[] = [];
    let page: string | undefined = '1';
    for (let count = 0; page !== undefined && page !== '' && count < maxPages; count++) {
      const response: GitLabResponse<T[]> = await this.get<T[]>(path, { ...query, per_page: 100, page });
      items.push(...response.data);
      page = response.headers.get('x-next-page') ?? undefined;
    }
    return items;
  }

  private async request<T>(
    method: string,
    path: string,
    query: Query,
    body: object | undefined,
  ): Promise<GitLabResponse<T>> {
    const write = method !== 'GET' && method !== 'HEAD';
    if (write && this.options.readOnly)
      throw new ForgeError(`a dry run does not write to GitLab: ${method} ${path} was not sent`);
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, String(value));
    for (let attempt = 0; ; attempt++) {
      const send = () => this.send(method, url, body);
      let response: Response;
      try {
        response = await (write
          ? this.options.limits.groups.write.key(this.options.credentials.identity).schedule(send)
          : send());
      } catch (error) {
        if (this.options.signal?.aborted || attempt >= this.options.maxRetries) throw error;
        await this.backoff(method, path, attempt, `network: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      if (response.ok) {
        const text = await response.text();
        return {
          status: response.status,
          data: (text === '' ? undefined : JSON.parse(text)) as T,
          headers: response.headers,
        };
      }
      const said = await gitLabMessage(response);
      if (attempt < this.options.maxRetries) {
        if (response.status === 429) {
          const seconds = this.rateLimitWait(response.headers);
          if (seconds <= this.options.maxRetryWaitSeconds) {
            this.options.logger.warn(
              { method, url: path, waitMs: seconds * 1000, attempt: attempt + 1 },
              'gitlab rate limit; waiting',
            );
            await abortable(this.sleep(seconds * 1000), this.options.signal);
            continue;
          }
          this.options.logger.warn({ method, url: path, waitMs: seconds * 1000 }, 'gitlab rate limit; not waiting');
        } else if (response.status >= 500) {
          await this.backoff(method, path, attempt, `${response.status}`);
          continue;
        }
      }
      throw new GitLabHttpError(response.status, method, path, said, response.headers);
    }
  }

  private async send(method: string, url: URL, body: object | undefined): Promise<Response> {
    const token = await this.options.credentials.tokenFor(this.options.repoUrl);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const headers: Record<string, string> = {
      'PRIVATE-TOKEN': token,
      'user-agent': `lynq-gitops-bridge/${BRIDGE_VERSION}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: this.options.signal === undefined ? timeout : AbortSignal.any([this.options.signal, timeout]),
    });
  }

  /** 1 s, 2 s, 4 s … before the next try of a request that failed with a 5xx or on the network. */
  private async backoff(method: string, path: string, attempt: number, why: string): Promise<void> {
    const waitMs = 1000 * 2 ** attempt;
    this.options.logger.warn(
      { method, url: path, waitMs, attempt: attempt + 2, why },
      'gitlab request failed; retrying',
    );
    await abortable(this.sleep(waitMs), this.options.signal);
  }

  /** GitLab sends `Retry-After` (seconds) with a 429, and `RateLimit-Reset` (epoch seconds); a minute when neither. */
  private rateLimitWait(headers: Headers): number {
    const after = Number(headers.get('retry-after'));
    if (headers.get('retry-after') !== null && Number.isFinite(after)) return Math.max(0, Math.ceil(after));
    const reset = Number(headers.get('ratelimit-reset'));
    if (headers.get('ratelimit-reset') !== null && Number.isFinite(reset))
      return Math.max(0, Math.ceil(reset - this.now() / 1000)) + 1;
    return 60;
  }
}

/** GitLab's error bodies: `{"message": "..."}` (a string, a list, or field → list), or `{"error": "..."}`. */
async function gitLabMessage(response: Response): Promise<string | undefined> {
  const text = await response.text().catch(() => '');
  try {
    const data = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = data.message ?? data.error;
    if (typeof message === 'string') return message;
    if (Array.isArray(message)) return message.map(String).join('; ');
    if (message !== null && typeof message === 'object') {
      return Object.entries(message)
        .map(([field, value]) => `${field} ${Array.isArray(value) ? value.join(', ') : String(value)}`)
        .join('; ');
    }
  } catch {
    // Not JSON (a proxy's page): say nothing rather than a page of HTML.
  }
  return undefined;
}

/**
 * A failed request as a ForgeError that says what was tried, on which project, and what
 * to check. GitLab's own message is kept; the token never appears in either.
 */
export function gitLabFailure(error: unknown, operation: string, project: string): ForgeError {
  if (error instanceof ForgeError) return error;
  const at = `while ${operation} in ${project}`;
  if (!(error instanceof GitLabHttpError))
    return new ForgeError(
      `GitLab request failed ${at}: ${error instanceof Error ? error.message : String(error)}`,
      {},
      { cause: error },
    );
  const { status } = error;
  const because = error.said ? `: ${error.said}` : '';
  let detail: string;
  if (status === 401)
    detail = `GitLab refused the token (401) ${at}${because}; check spec.publish.platform.token (or spec.publish.auth.token)`;
  else if (status === 403)
    detail = `GitLab forbids this (403) ${at}${because}; the token needs the api scope and at least the Developer role on the project`;
  else if (status === 404)
    detail = `GitLab answered not found (404) ${at}${because}; the project does not exist, or this token cannot see it`;
  else if (status === 429)
    detail = `GitLab rate limit (429) ${at}, still limited after the allowed retries and waits${because}`;
  else if (status >= 500) detail = `GitLab failed (${status}) ${at}, also on every retry${because}`;
  else detail = `GitLab rejected the request (${status}) ${at}${because}`;
  return new ForgeError(detail, {}, { cause: error });
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof GitLabHttpError ? error.status : undefined;
}
