import type http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { gitLabApi, type GitLabApi } from './gitlab-api.ts';
import { closeFakeServer, startFakeServer } from './http-fake.ts';

/**
 * A local stand-in for a GitLab instance's REST API (`/api/v4`): a node:http server on
 * 127.0.0.1 that answers only the routes a test registers and fails the test on
 * anything else. Every request (query and body) and every answer is checked against
 * the GitLab API description in test/fixtures/gitlab-api (see gitlab-api.ts). Tokens are
 * checked as GitLab does for `PRIVATE-TOKEN`: an unknown one gets GitLab's 401.
 */

export type GitLabRequest = {
  method: string;
  path: string;
  template: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
};

export type GitLabReply = { status: number; body?: unknown; headers?: Record<string, string> };
export type GitLabHandler = (request: GitLabRequest) => GitLabReply | Promise<GitLabReply>;
export type GitLabRecorded = {
  method: string;
  path: string;
  template: string | undefined;
  query: string;
  body: unknown;
  status: number;
  token?: string;
};

type Route = {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  handler: GitLabHandler;
  once: GitLabReply[];
};

export class GitLabFake {
  readonly requests: GitLabRecorded[] = [];
  readonly problems: string[] = [];
  readonly tokens: Set<string>;
  private readonly routes: Route[] = [];
  private server: http.Server | undefined;
  /** The server's root; the API is under `${url}/api/v4`. */
  url = '';

  constructor(
    private readonly api: GitLabApi,
    tokens: Iterable<string>,
  ) {
    this.tokens = new Set(tokens);
  }

  get apiUrl(): string {
    return `${this.url}${this.api.basePath}`;
  }

  /** Answer `method template` (a path under /api/v4, as GitLab's docs write it) with `handler`. */
  on(method: string, template: string, handler: GitLabHandler): void {
    if (!this.api.has(method, template)) throw new Error(`${method} ${template} is not in the GitLab API description`);
    const names: string[] = [];
    const source = template.replace(/\{([^}]+)\}/g, (_all, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, template, pattern: new RegExp(`^${source}$`), names, handler, once: [] });
  }

  wrap(method: string, template: string, wrapper: (inner: GitLabHandler) => GitLabHandler): void {
    const route = this.route(method, template);
    route.handler = wrapper(route.handler);
  }

  /** Serve `reply` once, before the route's handler (a 429, a 502, a refusal …). */
  once(method: string, template: string, reply: GitLabReply): void {
    this.route(method, template).once.push(reply);
  }

  writes(from = 0): GitLabRecorded[] {
    return this.requests.slice(from).filter((request) => request.method !== 'GET');
  }

  /** `METHOD template` of each request since `from`, in order. */
  calls(from = 0): string[] {
    return this.requests.slice(from).map((request) => `${request.method} ${request.template ?? request.path}`);
  }

  assertClean(): void {
    const unused = this.routes.flatMap((route) =>
      route.once.map((reply) => `queued reply never asked for: ${route.method} ${route.template} → ${reply.status}`),
    );
    const problems = [...this.problems, ...unused];
    if (problems.length > 0) throw new Error(`GitLab fake: ${problems.length} problem(s):\n${problems.join('\n')}`);
  }

  async start(): Promise<void> {
    ({ server: this.server, url: this.url } = await startFakeServer({
      handle: (req) => this.handle(req),
      send: (res, reply) => this.send(res, reply),
      failed: (res, error) => {
        this.problems.push(`handler failed: ${error instanceof Error ? error.stack : String(error)}`);
        this.send(res, { status: 500, body: { message: '500 Internal Server Error' } });
      },
    }));
  }

  async close(): Promise<void> {
    await closeFakeServer(this.server);
  }

  private route(method: string, template: string): Route {
    const route = this.routes.find((candidate) => candidate.method === method && candidate.template === template);
    if (route === undefined) throw new Error(`register ${method} ${template} first`);
    return route;
  }

  private async handle(req: http.IncomingMessage): Promise<GitLabReply> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        this.problems.push(`${method} ${url.pathname}: body is not JSON`);
      }
    }
    const token = req.headers['private-token'];
    const record: GitLabRecorded = {
      method,
      path: url.pathname,
      template: undefined,
      query: url.search,
      body,
      status: 0,
    };
    if (typeof token === 'string') record.token = token;
    this.requests.push(record);
    if (/[?&]private_token=/.test(url.search) || /access_token=/.test(url.search))
      this.problems.push(`${method} ${url.pathname}: a token in the URL`);

    const base = this.api.basePath;
    const path = url.pathname.startsWith(`${base}/`) ? url.pathname.slice(base.length) : undefined;
    const route =
      path === undefined
        ? undefined
        : this.routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (path === undefined || route === undefined) {
      this.problems.push(`unexpected request: ${method} ${url.pathname}${url.search}`);
      return this.finish(record, undefined, { status: 404, body: { message: '404 Not Found' } });
    }
    record.template = route.template;
    for (const problem of this.api.checkRequest(method, route.template, url.searchParams, body))
      this.problems.push(`${method} ${route.template}: ${problem}`);
    if (typeof token !== 'string' || !this.tokens.has(token))
      return this.finish(record, route, { status: 401, body: { message: '401 Unauthorized' } });
    const match = route.pattern.exec(path)!;
    const params = Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]));
    const queued = route.once.shift();
    const reply =
      queued ??
      (await route.handler({
        method,
        path,
        template: route.template,
        params,
        query: url.searchParams,
        headers: req.headers,
        body,
      }));
    return this.finish(record, route, reply);
  }

  private finish(record: GitLabRecorded, route: Route | undefined, reply: GitLabReply): GitLabReply {
    record.status = reply.status;
    if (route !== undefined)
      for (const problem of this.api.checkResponse(route.method, route.template, reply.status, reply.body))
        this.problems.push(`${route.method} ${route.template} → ${problem}`);
    return reply;
  }

  private send(res: http.ServerResponse, reply: GitLabReply): void {
    const headers = reply.headers ?? {};
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(reply.body));
  }
}

export async function startGitLabFake(tokens: Iterable<string>): Promise<GitLabFake> {
  const fake = new GitLabFake(gitLabApi(), tokens);
  await fake.start();
  return fake;
}
