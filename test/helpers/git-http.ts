import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A smart-HTTP git server for tests: git's own `git http-backend` run as a CGI behind
 * node:http on 127.0.0.1, with HTTP Basic authentication. Every request needs the token
 * (as the password; the user name too when `username` is given); anything else gets a
 * 401 with `WWW-Authenticate`, so git asks its GIT_ASKPASS helper. Authenticated
 * requests run with REMOTE_USER set, which enables receive-pack (push) in http-backend.
 */

export type GitHttpRequest = {
  method: string;
  /** Path of the request, without the query string. */
  path: string;
  query: string;
  authorized: boolean;
  /** `gzip` when git compressed the request body. */
  contentEncoding?: string;
  /** True when the body came without Content-Length (chunked, as git sends large pushes). */
  chunked: boolean;
  /** HTTP status sent back (filled in when the response head is written). */
  status?: number;
};

export type GitHttpServer = {
  /** URL of a repository under `root` (e.g. `url('manifests.git')`). */
  url(repoName: string): string;
  /** Every request seen, in order. */
  requests: GitHttpRequest[];
  /** What http-backend wrote on stderr (for debugging failing tests). */
  stderr: string[];
  close(): Promise<void>;
};

export type GitHttpServerOptions = {
  /** Folder holding the bare repositories (GIT_PROJECT_ROOT). */
  root: string;
  /** The password every request must carry. */
  token: string;
  /** When given, the user name must match too; any user name is accepted otherwise. */
  username?: string;
};

let backendPath: Promise<string> | undefined;

/** `$(git --exec-path)/git-http-backend`. */
export function gitHttpBackendPath(): Promise<string> {
  backendPath ??= new Promise((resolve, reject) => {
    execFile('git', ['--exec-path'], { encoding: 'utf8' }, (error, stdout) => {
      if (error) reject(error);
      else resolve(path.join(stdout.trim(), 'git-http-backend'));
    });
  });
  return backendPath;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The user name when the Basic credentials are acceptable, undefined otherwise. */
function authenticate(header: string | undefined, options: GitHttpServerOptions): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (!safeEqual(password, options.token)) return undefined;
  if (options.username !== undefined && !safeEqual(user, options.username)) return undefined;
  return user === '' ? 'anonymous' : user;
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const backend = await gitHttpBackendPath();
  const root = path.resolve(options.root);
  const requests: GitHttpRequest[] = [];
  const stderr: string[] = [];
  const children = new Set<ChildProcess>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const user = authenticate(req.headers.authorization, options);
    const record: GitHttpRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.search.replace(/^\?/, ''),
      authorized: user !== undefined,
      chunked: req.headers['transfer-encoding'] !== undefined,
    };
    if (req.headers['content-encoding'] !== undefined) record.contentEncoding = req.headers['content-encoding'];
    requests.push(record);

    if (user === undefined) {
      req.resume();
      record.status = 401;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE: 'lynq-test-git-http',
      REQUEST_METHOD: record.method,
      PATH_INFO: record.path,
      QUERY_STRING: record.query,
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      AUTH_TYPE: 'Basic',
    };
    if (req.headers['content-type'] !== undefined) env.CONTENT_TYPE = req.headers['content-type'];
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
    // http-backend inflates gzip bodies itself when told about them.
    if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    // Protocol v2 negotiation travels in the Git-Protocol header.
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;

    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('close', () => children.delete(child));
    child.on('error', (error) => {
      stderr.push(String(error));
      if (!res.headersSent) {
        record.status = 500;
        res.writeHead(500);
      }
      res.end();
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    child.stdin.on('error', () => undefined);
    req.pipe(child.stdin);

    // CGI response: headers up to an empty line, then the body.
    let head = Buffer.alloc(0);
    let headerDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      let end: number;
      let sep: number;
      if (crlf >= 0 && (lf < 0 || crlf < lf)) {
        end = crlf;
        sep = 4;
      } else if (lf >= 0) {
        end = lf;
        sep = 2;
      } else {
        return;
      }
      headerDone = true;
      let status = 200;
      const headers: Record<string, string | string[]> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') {
          status = Number.parseInt(value, 10) || 500;
          continue;
        }
        const existing = headers[name];
        if (existing === undefined) headers[name] = value;
        else headers[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      }
      record.status = status;
      res.writeHead(status, headers);
      const rest = head.subarray(end + sep);
      if (rest.length > 0) res.write(rest);
    });
    child.stdout.on('end', () => {
      if (!headerDone) {
        record.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('bad CGI response\n');
        return;
      }
      res.end();
    });
    res.on('close', () => {
      if (child.exitCode === null && child.signalCode === null && !res.writableFinished) child.kill('SIGKILL');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: (repoName: string) => `http://127.0.0.1:${port}/${repoName.replace(/^\/+/, '')}`,
    requests,
    stderr,
    async close() {
      for (const child of children) child.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
