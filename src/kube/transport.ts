import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { HttpLibrary, RequestContext, ResponseContext } from '@kubernetes/client-node';

type ClientNode = typeof import('@kubernetes/client-node');
type AnyAgent = http.Agent | https.Agent;

/**
 * The TLS settings an agent made by the library carries: a kept connection may serve a
 * request only when these are the same (an exec plugin can hand out a new client
 * certificate mid-run; then a new agent, and new connections, are needed).
 */
const CONNECTION_OPTIONS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'ciphers',
  'secureProtocol',
  'crl',
] as const;

/** How long a kept connection may sit idle (Node's agent closes free sockets after their timeout). */
const IDLE_TIMEOUT_MS = 30_000;

const UNPACK: zlib.ZlibOptions = { chunkSize: 1024 * 1024 };
const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/**
 * The HTTP transport the bridge gives `@kubernetes/client-node` in place of its own
 * (node-fetch over an agent it makes anew for every request): the library still decides
 * TLS and credentials per request (CA, client certificates, tokens, exec plugins), but
 * requests go out over ONE keep-alive agent per set of TLS settings. With the library's
 * own, every request was a new TCP connection and TLS handshake: 10,000 status PATCHes
 * were 10,000 handshakes, most of the read-back's time. node-fetch is not used with
 * keep-alive on purpose: it reports false "Premature close" errors on reused sockets
 * (node-fetch/node-fetch#1767). Compressed replies (gzip, deflate) are asked for and
 * unpacked as node-fetch did: an API server compresses large LIST pages.
 *
 * Agents the library makes for a proxy (`proxy-url`) are used as made.
 */
export function keepAliveTransport(k8s: ClientNode): HttpLibrary {
  const agents = keptAgents();
  const attempt = (request: RequestContext, retry: boolean): Promise<ResponseContext> =>
    new Promise<ResponseContext>((resolve, reject) => {
      const url = new URL(request.getUrl());
      const body = request.getBody();
      if (body !== undefined && typeof body !== 'string') {
        reject(new TypeError('the Kubernetes transport sends only string bodies (JSON)'));
        return;
      }
      const headers: Record<string, string> = { ...request.getHeaders(), 'accept-encoding': 'gzip, deflate' };
      let answered = false;
      const outgoing = (url.protocol === 'http:' ? http : https).request(
        url,
        {
          method: request.getHttpMethod(),
          headers,
          agent: agents.use(request.getAgent()),
          signal: request.getSignal(),
        },
        (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('close', () => {
            if (!response.complete)
              reject(
                Object.assign(new Error('the connection closed before the whole reply arrived'), {
                  code: 'ECONNRESET',
                }),
              );
          });
          response.on('end', () => {
            const raw = Buffer.concat(chunks);
            const encoding = String(response.headers['content-encoding'] ?? '').trim();
            // Output chunks of 1 MiB, not zlib's 16 KiB: a 1.5 MB page is then a couple of callbacks, not a hundred.
            const decoded =
              encoding === 'gzip'
                ? gunzip(raw, UNPACK)
                : encoding === 'deflate'
                  ? inflate(raw, UNPACK)
                  : Promise.resolve(raw);
            decoded.then((data) => {
              const flat: Record<string, string> = {};
              for (const [name, value] of Object.entries(response.headers))
                if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
              resolve(
                new k8s.ResponseContext(response.statusCode ?? 0, flat, {
                  text: async () => data.toString('utf8'),
                  binary: async () => data,
                }),
              );
            }, reject);
          });
        },
      );
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A kept connection the server closed just as the request went out (its idle timeout): nothing was
        // answered, so the request is sent again, once, on a new connection (what Node's docs advise).
        if (retry && !answered && outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))
          attempt(request, false).then(resolve, reject);
        else reject(error);
      });
      outgoing.end(body);
    });
  return k8s.wrapHttpLibrary({ send: (request) => attempt(request, true) });
}

/** The keep-alive agent standing in for each agent the library made, by its TLS settings. */
function keptAgents(): { use(made: AnyAgent | undefined): AnyAgent | undefined } {
  let kept: { made: AnyAgent; agent: AnyAgent } | undefined;
  return {
    use(made) {
      if (made === undefined) return undefined;
      const Kind = made.constructor;
      if (Kind !== https.Agent && Kind !== http.Agent) return made;
      if (
        kept === undefined ||
        kept.made.constructor !== Kind ||
        !sameConnection(optionsOf(made), optionsOf(kept.made))
      ) {
        // A replaced agent is not destroyed: requests in flight finish on it, and its idle sockets do not hold the process open.
        // An idle connection is closed after a while, before a load balancer on the way drops it unannounced.
        const given = optionsOf(made);
        const options: https.AgentOptions = {
          ...given,
          keepAlive: true,
          timeout: typeof given.timeout === 'number' ? given.timeout : IDLE_TIMEOUT_MS,
        };
        kept = { made, agent: Kind === https.Agent ? new https.Agent(options) : new http.Agent(options) };
      }
      return kept.agent;
    },
  };
}

/** The options an agent was made with (Node keeps them on `agent.options`). */
function optionsOf(agent: AnyAgent): Record<string, unknown> {
  return ((agent as unknown as { options?: Record<string, unknown> }).options ?? {}) as Record<string, unknown>;
}

function sameConnection(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return CONNECTION_OPTIONS.every((name) => sameOption(a[name], b[name]));
}

function sameOption(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, index) => sameOption(item, b[index]));
  return false;
}
