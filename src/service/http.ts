import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';

export type Readiness = { ready: boolean; reasons: string[] };

export type HttpDeps = {
  logger: Logger;
  readiness: () => Readiness;
  metrics: { text(): Promise<string>; contentType: string };
  /** The webhook's bearer token; without one, /hooks/ answers 404 as if it did not exist. */
  webhookToken: string | undefined;
  /** Ask for a sync of a hub; false when there is no such hub. */
  requestSync: (hub: string) => boolean;
};

const HOOK = /^\/hooks\/sync\/([^/]+)$/;

/**
 * The service's HTTP side on node:http: /healthz (the process answers), /readyz (config
 * loaded, no hub failing for too long), /metrics (Prometheus text), and the webhook
 * `POST /hooks/sync/<hub>` that syncs a hub at once. Nothing else: every other path is 404.
 */
export function createHttpServer(deps: HttpDeps): Server {
  const expected = deps.webhookToken === undefined ? undefined : digest(deps.webhookToken);
  return createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      deps.logger.error({ err: error instanceof Error ? error.message : String(error), path: request.url }, 'http request failed');
      if (!response.headersSent) reply(response, 500, 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    // The body is never read (the webhook carries nothing the bridge needs); drain it so keep-alive works.
    request.resume();
    if (url.pathname === '/healthz') return get(method, response, () => reply(response, 200, 'ok\n'));
    if (url.pathname === '/readyz') {
      return get(method, response, () => {
        const { ready, reasons } = deps.readiness();
        reply(response, ready ? 200 : 503, ready ? 'ready\n' : `not ready:\n${reasons.map((reason) => `- ${reason}\n`).join('')}`);
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
      if (!authorised(request.headers.authorization, expected)) return reply(response, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="lynq"' });
      const hub = decodeURIComponent(hook[1]!);
      if (!deps.requestSync(hub)) return reply(response, 404, `no hub named ${JSON.stringify(hub)}\n`);
      deps.logger.info({ hub }, 'sync requested by webhook');
      return reply(response, 202, 'accepted\n');
    }
    reply(response, 404, 'not found\n');
  }
}

/** Listen on `host:port`; resolves to the address actually bound (port 0 picks a free one). */
export async function listen(server: Server, address: { host: string; port: number }): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** Close the listener and the idle keep-alive sockets, so shutdown does not wait for clients. */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
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

/** Compared as digests of equal length with timingSafeEqual: neither the token nor its length leaks through timing. */
function authorised(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return false;
  return timingSafeEqual(digest(match[1]!), expected);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
