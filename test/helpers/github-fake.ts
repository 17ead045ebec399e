import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { gitHubOpenApi, type OpenApi } from './github-openapi.ts';
import { closeFakeServer, startFakeServer } from './http-fake.ts';

/**
 * A local stand-in for api.github.com: a node:http server on 127.0.0.1 that answers only
 * the routes a test registers, and fails the test on anything else. Every request
 * (query and body) and every response it serves is checked against GitHub's published
 * OpenAPI description; GraphQL requests go to a handler that executes them against
 * GitHub's published GraphQL schema (see github-graphql.ts). Credentials are checked as
 * GitHub does: `token <t>` for tokens, a signed RS256 JWT (`bearer`) for app routes.
 */

export type FakeRequest = {
  method: string;
  path: string;
  /** The registered route that matched (`/repos/{owner}/{repo}/pulls`). */
  template: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
};

export type FakeReply = { status: number; body?: unknown; headers?: Record<string, string> };
export type RouteHandler = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

export type RecordedRequest = {
  method: string;
  path: string;
  template: string | undefined;
  query: string;
  body: unknown;
  status: number;
  authorization?: string;
};

export type FakeOptions = {
  /** Tokens accepted as `Authorization: token <t>`. */
  tokens?: Iterable<string>;
  /** A GitHub App whose JWTs are accepted on app routes. */
  app?: { appId: string; publicKeyPem: string };
  /** Serve as GitHub Enterprise Server does: REST under /api/v3, GraphQL at /api/graphql. */
  enterprise?: boolean;
};

type Route = {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
  once: FakeReply[];
};

/** Routes GitHub authenticates with the app's JWT rather than a token. */
const APP_ROUTES = [/^\/app(\/|$)/, /^\/repos\/[^/]+\/[^/]+\/installation$/];

export class GitHubFake {
  readonly requests: RecordedRequest[] = [];
  /** Unexpected requests and anything that did not match GitHub's description. */
  readonly problems: string[] = [];
  /** Responses served with a status the description does not list (429, 5xx), checked as basic-error. */
  readonly undocumented: string[] = [];
  readonly tokens: Set<string>;
  private readonly routes: Route[] = [];
  private app: { appId: string; key: KeyObject } | undefined;
  private server: http.Server | undefined;
  url = '';

  constructor(
    private readonly openapi: OpenApi,
    private readonly options: FakeOptions,
  ) {
    this.tokens = new Set(options.tokens ?? []);
    if (options.app !== undefined) this.trustApp(options.app.appId, options.app.publicKeyPem);
  }

  /** Answer `method template` with `handler` (replacing an earlier one). */
  on(method: string, template: string, handler: RouteHandler): void {
    const existing = this.routes.find((route) => route.method === method && route.template === template);
    if (existing !== undefined) {
      existing.handler = handler;
      return;
    }
    if (template !== '/graphql' && !this.openapi.has(method, template))
      throw new Error(`${method} ${template} is not in GitHub's API description`);
    const names: string[] = [];
    const source = template.replace(/\{([^}]+)\}/g, (_all, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, template, pattern: new RegExp(`^${source}$`), names, handler, once: [] });
  }

  /** Accept JWTs signed by this GitHub App's key on app routes (as `options.app` does at start). */
  trustApp(appId: string, publicKeyPem: string): void {
    this.app = { appId, key: createPublicKey(publicKeyPem) };
  }

  /** Put `wrapper` around a registered route's handler (to slow it down, to count what overlaps …). */
  wrap(method: string, template: string, wrapper: (inner: RouteHandler) => RouteHandler): void {
    const route = this.routes.find((candidate) => candidate.method === method && candidate.template === template);
    if (route === undefined) throw new Error(`register ${method} ${template} before wrapping it`);
    route.handler = wrapper(route.handler);
  }

  /** Serve `reply` once, before the route's handler (a rate limit, a 502 …). */
  once(method: string, template: string, reply: FakeReply): void {
    const route = this.routes.find((candidate) => candidate.method === method && candidate.template === template);
    if (route === undefined) throw new Error(`register ${method} ${template} before queueing a reply for it`);
    route.once.push(reply);
  }

  /** Requests since index `from` that were not reads. */
  writes(from = 0): RecordedRequest[] {
    return this.requests.slice(from).filter((request) => request.method !== 'GET');
  }

  /**
   * Throws when the code made an unexpected request, anything broke GitHub's
   * description, or a reply queued with `once` was never asked for (the test expected a
   * request the code did not make).
   */
  assertClean(): void {
    const problems = [...this.problems, ...this.unusedReplies()];
    if (problems.length > 0) throw new Error(`GitHub fake: ${problems.length} problem(s):\n${problems.join('\n')}`);
  }

  /** One line per reply queued with `once` and not served. */
  unusedReplies(): string[] {
    return this.routes.flatMap((route) =>
      route.once.map((reply) => `queued reply never asked for: ${route.method} ${route.template} → ${reply.status}`),
    );
  }

  async start(): Promise<void> {
    ({ server: this.server, url: this.url } = await startFakeServer({
      handle: (req) => this.handle(req),
      send: (res, reply) => this.send(res, reply),
      failed: (res, error) => {
        this.problems.push(`handler failed: ${error instanceof Error ? error.stack : String(error)}`);
        this.send(res, { status: 500, body: { message: 'fake failed' } });
      },
    }));
  }

  /** Stops the server, then fails when a reply queued with `once` was never asked for (`assertClean` reports everything first). */
  async close(): Promise<void> {
    await closeFakeServer(this.server);
    const unused = this.unusedReplies();
    if (unused.length > 0) throw new Error(`GitHub fake: ${unused.join('\n')}`);
  }

  private async handle(req: http.IncomingMessage): Promise<FakeReply> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (this.options.enterprise) {
      const path =
        url.pathname === '/api/graphql'
          ? '/graphql'
          : url.pathname.startsWith('/api/v3/')
            ? url.pathname.slice('/api/v3'.length)
            : undefined;
      if (path === undefined) this.problems.push(`not a GitHub Enterprise Server API path: ${url.pathname}`);
      else url.pathname = path;
    }
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        this.problems.push(`${method} ${url.pathname}: body is not JSON`);
      }
    }
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      template: undefined,
      query: url.search,
      body,
      status: 0,
    };
    if (typeof req.headers.authorization === 'string') record.authorization = req.headers.authorization;
    this.requests.push(record);

    const route = this.routes.find((candidate) => candidate.method === method && candidate.pattern.test(url.pathname));
    if (route === undefined) {
      this.problems.push(`unexpected request: ${method} ${url.pathname}${url.search}`);
      return this.finish(record, undefined, {
        status: 501,
        body: { message: `the fake does not expect ${method} ${url.pathname}` },
      });
    }
    record.template = route.template;
    const match = route.pattern.exec(url.pathname)!;
    const params = Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]));
    if (route.template !== '/graphql') {
      for (const problem of this.openapi.checkRequest(method, route.template, url.searchParams, body))
        this.problems.push(`${method} ${route.template}: ${problem}`);
    }
    const denied = this.authenticate(url.pathname, req.headers.authorization);
    if (denied !== undefined) return this.finish(record, route, denied);
    const queued = route.once.shift();
    const reply =
      queued ??
      (await route.handler({
        method,
        path: url.pathname,
        template: route.template,
        params,
        query: url.searchParams,
        headers: req.headers,
        body,
      }));
    return this.finish(record, route, reply);
  }

  private finish(record: RecordedRequest, route: Route | undefined, reply: FakeReply): FakeReply {
    record.status = reply.status;
    if (route !== undefined && route.template !== '/graphql') {
      const checked = this.openapi.checkResponse(route.method, route.template, reply.status, reply.body);
      for (const problem of checked.problems) this.problems.push(`${route.method} ${route.template} → ${problem}`);
      if (checked.undocumented) this.undocumented.push(`${route.method} ${route.template} → ${reply.status}`);
    }
    return reply;
  }

  /** undefined when the credentials are good; GitHub's 401 otherwise. */
  private authenticate(path: string, header: string | undefined): FakeReply | undefined {
    const bad: FakeReply = {
      status: 401,
      body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
    };
    const [scheme, credential] = (header ?? '').split(' ');
    if (APP_ROUTES.some((pattern) => pattern.test(path))) {
      return scheme?.toLowerCase() === 'bearer' && credential !== undefined && this.validJwt(credential)
        ? undefined
        : bad;
    }
    return scheme?.toLowerCase() === 'token' && credential !== undefined && this.tokens.has(credential)
      ? undefined
      : bad;
  }

  private validJwt(jwt: string): boolean {
    if (this.app === undefined) return false;
    const [header, payload, signature] = jwt.split('.');
    if (header === undefined || payload === undefined || signature === undefined) return false;
    const ok = verify(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      this.app.key,
      Buffer.from(signature, 'base64url'),
    );
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number };
    return ok && String(claims.iss) === this.app.appId && (claims.exp ?? 0) * 1000 > Date.now();
  }

  private send(res: http.ServerResponse, reply: FakeReply): void {
    const headers: Record<string, string> = { 'x-github-request-id': 'FAKE', ...(reply.headers ?? {}) };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(reply.body));
  }
}

export async function startGitHubFake(options: FakeOptions = {}): Promise<GitHubFake> {
  const fake = new GitHubFake(gitHubOpenApi(), options);
  await fake.start();
  return fake;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}
