import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { CSS, ICON, JS } from './assets.ts';
import { COOKIE, type TokenCheck } from './auth.ts';
import type { FleetState } from './fleet-state.ts';
import type { GitView } from './git-view.ts';
import { fileHtml, renderPage } from './html.ts';
import { fleetView, formUrl, hubUrl, nodesView, nodeView } from './pages.ts';

export type WebViewDeps = {
  state: FleetState;
  git: GitView;
  /** Without one (a loopback address only), pages are open. */
  token: TokenCheck | undefined;
  logger: Logger;
};

export type WebView = {
  /** Whether a path is the view's (its pages, /static/, /login). */
  owns(pathname: string): boolean;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void>;
};

/** Strict: only this origin's stylesheet and script, no inline anything, no framing, forms post only here. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const HUB = /^\/hubs\/([^/]+)\/?$/;
const FORM = /^\/hubs\/([^/]+)\/forms\/([^/]+)\/?$/;
const NODE = /^\/hubs\/([^/]+)\/forms\/([^/]+)\/nodes\/([^/]+)\/?$/;
const STATIC: Record<string, { body: string; type: string }> = {
  '/static/lynq.css': { body: CSS, type: 'text/css; charset=utf-8' },
  '/static/lynq.js': { body: JS, type: 'text/javascript; charset=utf-8' },
  '/static/icon.svg': { body: ICON, type: 'image/svg+xml' },
};
/** A login form's body is a token and a path: anything longer is refused unread. */
const LOGIN_BODY_LIMIT = 4096;

/**
 * The read-only web view of `lynq serve`: fleet → hub → form → node, each page HTML or,
 * asked with `Accept: application/json`, the same data as JSON. GET and HEAD only (and the
 * login form's POST). Pages read the service's memory (FleetState) and the cache clone.
 */
export function createWebView(deps: WebViewDeps): WebView {
  return {
    owns: (pathname) =>
      pathname === '/' || pathname === '/login' || pathname.startsWith('/hubs/') || pathname in STATIC,
    async handle(request, response, url) {
      const method = request.method ?? 'GET';
      if (url.pathname === '/login' && method === 'POST') return login(request, response, deps);
      request.resume();
      if (method !== 'GET' && method !== 'HEAD')
        return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n', {
          allow: url.pathname === '/login' ? 'GET, HEAD, POST' : 'GET, HEAD',
        });
      const asset = STATIC[url.pathname];
      if (asset !== undefined) return send(response, 200, asset.type, asset.body, { 'cache-control': 'max-age=300' });
      const json = wantsJson(request);
      if (url.pathname === '/login')
        return html(response, 200, 'login', { next: safeNext(url.searchParams.get('next')), failed: false });
      if (deps.token !== undefined && !deps.token.allowed(request.headers)) {
        if (json)
          return send(response, 401, 'application/json', '{"error":"unauthorized"}\n', {
            'www-authenticate': 'Bearer realm="lynq"',
          });
        return html(
          response,
          401,
          'login',
          { next: safeNext(url.pathname + url.search), failed: false },
          { 'www-authenticate': 'Bearer realm="lynq"' },
        );
      }
      try {
        await page(url, json, response, deps);
      } catch (error) {
        deps.logger.error(
          { path: url.pathname.slice(0, 200), err: messageOf(error).slice(0, 500) },
          'web view page failed',
        );
        if (json) return send(response, 500, 'application/json', `${JSON.stringify({ error: messageOf(error) })}\n`);
        return html(response, 500, 'error', {
          status: 500,
          title: 'This page could not be read',
          message: messageOf(error),
        });
      }
    },
  };
}

async function page(url: URL, json: boolean, response: ServerResponse, deps: WebViewDeps): Promise<void> {
  const { state, git } = deps;
  const answer = (template: string, view: unknown, extra: Record<string, unknown> = {}): void =>
    json
      ? send(response, 200, 'application/json', `${JSON.stringify(view, null, 1)}\n`)
      : html(response, 200, template, { view, here: url.pathname, ...extra });
  const missing = (what: string): void =>
    json
      ? send(response, 404, 'application/json', `${JSON.stringify({ error: `no ${what}` })}\n`)
      : html(response, 404, 'error', { status: 404, title: 'Not found', message: `No ${what}.` });

  if (url.pathname === '/') return answer('fleet', await fleetView(state, git));
  const query = {
    phase: url.searchParams.get('phase') || null,
    q: url.searchParams.get('q') ?? '',
    page: Number(url.searchParams.get('page') ?? '1'),
  };
  const pageUrl = (n: number): string => {
    const params = new URLSearchParams();
    if (query.q !== '') params.set('q', query.q);
    if (query.phase !== null) params.set('phase', query.phase);
    params.set('page', String(n));
    return `${url.pathname}?${params}`;
  };
  let match = HUB.exec(url.pathname);
  if (match !== null) {
    const hub = decode(match[1]!);
    const view = await nodesView(state, git, hub, undefined, query);
    return view === undefined
      ? missing(`hub named ${JSON.stringify(hub)}`)
      : answer('nodes', view, { hubUrl: hubUrl(hub), pageUrl });
  }
  match = FORM.exec(url.pathname);
  if (match !== null) {
    const [hub, form] = [decode(match[1]!), decode(match[2]!)];
    const view = await nodesView(state, git, hub, form, query);
    return view === undefined
      ? missing(`form ${JSON.stringify(form)} of hub ${JSON.stringify(hub)}`)
      : answer('nodes', view, { hubUrl: hubUrl(hub), pageUrl });
  }
  match = NODE.exec(url.pathname);
  if (match !== null) {
    const [hub, form, uid] = [decode(match[1]!), decode(match[2]!), decode(match[3]!)];
    const view = await nodeView(state, git, hub, form, uid);
    if (view === undefined) return missing(`node ${JSON.stringify(`${hub}/${form}/${uid}`)}`);
    return answer('node', view, {
      hubUrl: hubUrl(hub),
      formUrl: formUrl(hub, form),
      files: view.files.map((file) => ({ path: file.path, html: fileHtml(file.path, file.content) })),
    });
  }
  return missing('such page');
}

async function login(request: IncomingMessage, response: ServerResponse, deps: WebViewDeps): Promise<void> {
  const body = await readBody(request, LOGIN_BODY_LIMIT);
  if (body === undefined)
    return send(response, 413, 'text/plain; charset=utf-8', 'request body too large\n', { connection: 'close' });
  const form = new URLSearchParams(body);
  const next = safeNext(form.get('next'));
  // No token configured (loopback only): there is nothing to sign in to.
  if (deps.token === undefined) return send(response, 303, 'text/plain; charset=utf-8', '', { location: next });
  if (!deps.token.matches(form.get('token') ?? '')) {
    deps.logger.warn({ from: request.socket.remoteAddress }, 'web view: sign-in with a wrong token');
    return html(response, 401, 'login', { next, failed: true });
  }
  send(response, 303, 'text/plain; charset=utf-8', '', {
    location: next,
    'set-cookie': `${COOKIE}=${deps.token.sessionValue()}; Path=/; HttpOnly; SameSite=Strict`,
  });
}

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Where to go after signing in: a path of this site only (never `//host` or a full URL). */
function safeNext(next: string | null): string {
  return next !== null && /^\/(?![/\\])[^\s\\]*$/.test(next) ? next : '/';
}

function wantsJson(request: IncomingMessage): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

function decode(segment: string): string {
  return decodeURIComponent(segment);
}

function html(
  response: ServerResponse,
  status: number,
  template: string,
  context: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  send(response, status, 'text/html; charset=utf-8', renderPage(template, context), headers);
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  response.end(body);
}
