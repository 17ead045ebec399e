import Bottleneck from 'bottleneck/light.js';
import type { Logger } from '../logger.ts';

/**
 * How the GitHub client waits: which requests it retries is decided by
 * `@octokit/plugin-retry` (5xx, network failures) and `@octokit/plugin-throttling`
 * (rate limits, and one write at a time); how long it waits goes through an injected
 * `sleep` and `now`, so tests see every wait without waiting. Both plugins schedule
 * their own retries on bottleneck timers that cannot be injected: their base values are
 * set to 0 and the waiting happens here instead.
 */

export type Pacing = {
  logger: Logger;
  /** Retries per request, for server errors and for rate limits alike. */
  maxRetries: number;
  /** A rate limit that resets later than this fails instead of waiting. */
  maxRetryWaitSeconds: number;
  /** Per try: a hung connection must not hang the sync. */
  timeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Stops a wait and the request in flight. */
  signal?: AbortSignal;
  /** One write in flight at a time per credential (`identity`); undefined for a client that does not write. */
  writes?: { group: Bottleneck.Group; identity: string };
};

/**
 * The limiters of one process (or one test), shared by its clients: the throttling
 * plugin's groups, made here instead of the plugin's module-wide ones, and one queue
 * that keeps a credential's writes one at a time. The plugin only spaces the starts of
 * writes `writeIntervalMs` apart (GitHub: "wait at least one second between each
 * request" that writes; writes that notify people, three times that); a slow write
 * could still overlap the next, so the queue holds each write until it is answered.
 */
export type GitHubLimits = {
  groups: Record<'global' | 'auth' | 'write' | 'search' | 'notifications', Bottleneck.Group>;
  writes: Bottleneck.Group;
};

export function gitHubLimits(options: { writeIntervalMs: number }): GitHubLimits {
  // Keys (one per credential) are dropped after two idle minutes, as the plugin's are.
  const common = { timeout: 120_000 };
  return {
    groups: {
      global: new Bottleneck.Group({ maxConcurrent: 10, ...common }),
      auth: new Bottleneck.Group({ maxConcurrent: 1, ...common }),
      search: new Bottleneck.Group({ maxConcurrent: 1, minTime: 2 * options.writeIntervalMs, ...common }),
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeIntervalMs, ...common }),
      notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 3 * options.writeIntervalMs, ...common }),
    },
    writes: new Bottleneck.Group({ maxConcurrent: 1, ...common }),
  };
}

/** Not writes: minting an installation token (the plugin's own exception) and reads. */
function isWrite(options: RequestOptions): boolean {
  return options.method !== 'GET' && options.method !== 'HEAD' && !options.url.startsWith('/app/');
}

/** What pacing remembers about one request across its tries (keyed by the request's options object, which every hook shares). */
type Tries = { serverFailures: number; backoffPending: boolean; rateLimitReset?: number };

type RequestOptions = { method: string; url: string; request?: Record<string, unknown> };
type HookedOctokit = {
  hook: {
    wrap(
      name: 'request',
      hook: (request: (options: RequestOptions) => Promise<unknown>, options: RequestOptions) => Promise<unknown>,
    ): void;
  };
};

export type LimitHandler = (
  retryAfter: number,
  options: RequestOptions,
  octokit: unknown,
  retryCount: number,
) => Promise<boolean>;

/**
 * Installs the innermost hook (inside both plugins, so it runs once per try) and
 * returns the throttling plugin's two handlers. Per try: a fresh timeout; before a try
 * that follows a server error, an exponential backoff (1 s, 2 s, 4 s …); after a primary
 * rate limit, the reset time read from the response, so the wait is measured with the
 * injected clock rather than the plugin's `Date.now()`.
 */
export function installPacing(
  octokit: HookedOctokit,
  pacing: Pacing,
): { onRateLimit: LimitHandler; onSecondaryRateLimit: LimitHandler } {
  const tries = new WeakMap<object, Tries>();
  octokit.hook.wrap('request', async (request, options) => {
    let state = tries.get(options);
    if (state === undefined) {
      state = { serverFailures: 0, backoffPending: false };
      tries.set(options, state);
    }
    if (state.backoffPending) {
      state.backoffPending = false;
      const waitMs = 1000 * 2 ** (state.serverFailures - 1);
      pacing.logger.warn(
        { method: options.method, url: options.url, waitMs, attempt: state.serverFailures + 1 },
        'github request failed; retrying',
      );
      await abortable(pacing.sleep(waitMs), pacing.signal);
    }
    const timeout = AbortSignal.timeout(pacing.timeoutMs);
    // Replaced, not mutated: the object may be shared with the client's defaults.
    options.request = {
      ...options.request,
      signal: pacing.signal === undefined ? timeout : AbortSignal.any([pacing.signal, timeout]),
    };
    try {
      const writes = pacing.writes;
      // Queued per try, so a write waiting out a backoff does not hold up the others.
      return await (writes !== undefined && isWrite(options)
        ? writes.group.key(writes.identity).schedule(() => request(options))
        : request(options));
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      // The retry plugin resends these (it decides whether); the next try waits first.
      if (typeof status !== 'number' || status >= 500) {
        state.serverFailures++;
        state.backoffPending = true;
      }
      const headers = (error as { response?: { headers?: Record<string, unknown> } }).response?.headers;
      if (headers?.['x-ratelimit-remaining'] === '0' && headers['x-ratelimit-reset'] !== undefined)
        state.rateLimitReset = Number(headers['x-ratelimit-reset']);
      throw error;
    }
  });

  const handler =
    (kind: 'primary' | 'secondary'): LimitHandler =>
    async (retryAfter, options, _octokit, retryCount) => {
      const reset = tries.get(options)?.rateLimitReset;
      // GitHub: retry after x-ratelimit-reset (plus a second, as the plugin does); for a secondary limit, after Retry-After or a minute.
      const seconds =
        kind === 'primary' && reset !== undefined
          ? Math.max(0, Math.ceil(reset - pacing.now() / 1000)) + 1
          : retryAfter;
      const fields = {
        kind,
        method: options.method,
        url: options.url,
        waitMs: seconds * 1000,
        attempt: retryCount + 1,
      };
      if (retryCount >= pacing.maxRetries || seconds > pacing.maxRetryWaitSeconds) {
        pacing.logger.warn(fields, 'github rate limit; not waiting');
        return false;
      }
      pacing.logger.warn(fields, 'github rate limit; waiting');
      await abortable(pacing.sleep(seconds * 1000), pacing.signal);
      return true;
    };
  return { onRateLimit: handler('primary'), onSecondaryRateLimit: handler('secondary') };
}

/** A wait that ends early, rejecting, when `signal` aborts. */
export async function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return wait;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([wait, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
