import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { bearerIs, tokenDigest } from '../web/auth.ts';
import type { WebView } from '../web/handler.ts';

export type Readiness = { ready: boolean; reasons: string[] };

export type HttpDeps = {
  logger: Logger;
  readiness: () => Readiness;
  metrics: { text(): Promise<string>; contentType: string };
  /** The webhook's bearer token; without one, /hooks/ answers 404 as if it did not exist. */
  webhookToken: string | undefined;
  /** Ask for a sync of a hub: accepted, no such hub, or not now (the service is stopping). */
  requestSync: (hub: string) => 'accepted' | 'unknown' | 'stopping';
  /** The read-only web view (`--ui`): its paths are its own; without it they are 404 as any other. */
  web?: WebView;
};

/**
 * A client gets this long to send its request headers, and its whole request: a slow or
 * stalled one (a slowloris) is cut off instead of holding a connection (and shutdown).
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

const HOOK = /^\/hooks\/sync\/([^/]+)$/;

/**
 * The service's HTTP side on node:http: /healthz (the process answers), /readyz (config
 * loaded, no hub failing for too long), /metrics (Prometheus text), and the webhook
 * `POST /hooks/sync/<hub>` that syncs a hub at once, and with `--ui` the web view's pages.
 * Nothing else: every other path is 404.
 */
export function createHttpServer(deps: HttpDeps): Server {
  const expected = deps.webhookToken === undefined ? undefined : tokenDigest(deps.webhookToken);
  const server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    (request, response) => {
      // A target that is not a path (a full URL, `*`, bad %-encoding) is the client's mistake: 400 and a short line, never its text.
      if (!isPathTarget(request.url)) {
        deps.logger.warn(
          { method: request.method, length: request.url?.length ?? 0 },
          'http request refused: malformed request target',
        );
        request.resume();
        reply(response, 400, 'bad request target\n', { connection: 'close' });
        return;
      }
      handle(request, response).catch((error: unknown) => {
        deps.logger.error(
          {
            err: error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200),
            path: request.url?.slice(0, 200),
          },
          'http request failed',
        );
        if (!response.headersSent) reply(response, 500, 'internal error\n');
        else response.destroy();
      });
    },
  );
  return server;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    // The view reads its login form's body itself, and drains the rest.
    if (deps.web?.owns(url.pathname)) return deps.web.handle(request, response, url);
    // The body is never read (the webhook carries nothing the bridge needs); drain it so keep-alive works.
    request.resume();
    if (url.pathname === '/healthz') return get(method, response, () => reply(response, 200, 'ok\n'));
    if (url.pathname === '/readyz') {
      return get(method, response, () => {
        const { ready, reasons } = deps.readiness();
        reply(
          response,
          ready ? 200 : 503,
          ready ? 'ready\n' : `not ready:\n${reasons.map((reason) => `- ${reason}\n`).join('')}`,
        );
      });
    }
    if (url.pathname === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') return reply(response, 405, 'method not allowed\n', { allow: 'GET' });
      const text = await deps.metrics.text();
      return reply(response, 200, text, { 'content-type': deps.metrics.contentType });
    }
    const hook = HOOK.exec(url.pathname);
    if (hook !== null && expected !== undefined) {
      if (method !== 'POST') return reply(response, 405, 'method not allowed\n', { allow: 'POST' });
      // Authentication comes first, so that nobody without the token can learn which hubs exist.
      if (!bearerIs(request.headers.authorization, expected))
        return reply(response, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="lynq"' });
      const hub = decodeURIComponent(hook[1]!);
      const asked = deps.requestSync(hub);
      if (asked === 'unknown') return reply(response, 404, `no hub named ${JSON.stringify(hub)}\n`);
      if (asked === 'stopping')
        return reply(response, 503, 'shutting down: call again later\n', { 'retry-after': '30', connection: 'close' });
      deps.logger.info({ hub }, 'sync requested by webhook');
      return reply(response, 202, 'accepted\n');
    }
    reply(response, 404, 'not found\n');
  }
}

/**
 * Listen on `host:port`; resolves to the address actually bound (port 0 picks a free one).
 * An address that cannot be listened on (in use, not allowed, not this host's) is a
 * ConfigError naming it: the command line or the environment is what needs changing.
 */
export async function listen(server: Server, address: { host: string; port: number }): Promise<AddressInfo> {
  const where = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException): void => {
      const why = LISTEN_ERRORS[error.code ?? ''];
      reject(why === undefined ? error : new ConfigError(`port ${where} ${why} (--listen)`, {}, { cause: error }));
    };
    server.once('error', fail);
    server.listen(address.port, address.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'is in use',
  EACCES: 'is not allowed to this user',
  EADDRNOTAVAIL: 'is not an address of this host',
};

/**
 * Stop listening and close the idle keep-alive connections at once; requests in flight get
 * `deadlineMs`, then their connections are closed too (a slow or stalled client never holds
 * shutdown).
 */
export async function closeServer(server: Server, deadlineMs: number): Promise<void> {
  if (!server.listening) {
    server.closeAllConnections();
    return;
  }
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
    server.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function get(method: string, response: ServerResponse, answer: () => void): void {
  if (method !== 'GET' && method !== 'HEAD') reply(response, 405, 'method not allowed\n', { allow: 'GET' });
  else answer();
}

function reply(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(body);
}

/** An origin-form target (`/path?query`) whose every %-escape decodes as UTF-8. */
function isPathTarget(target: string | undefined): boolean {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return false;
  const path = target.split('?', 1)[0]!;
  try {
    decodeURIComponent(path);
    new URL(target, 'http://localhost');
    return true;
  } catch {
    return false;
  }
}
