// @slow: starts lynq serve --ui against PostgreSQL, a bare repository and the fake Kubernetes API
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLynq, stopLynq } from './helpers/serve.ts';
import { world as serveWorld } from './helpers/serve-world.ts';
import {
  DEGRADED,
  HOSTILE,
  makeUiWorld,
  SECRET_VALUE,
  UI_TOKEN,
  type UiWorld,
  WEBHOOK_TOKEN,
} from './helpers/ui-world.ts';

const CSP =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const bearer = { authorization: `Bearer ${UI_TOKEN}` };
const asJson = { ...bearer, accept: 'application/json' };

describe('lynq serve --ui over HTTP: token, headers, JSON, 404s, masking', () => {
  let w: UiWorld;
  before(async () => {
    w = await makeUiWorld();
  });
  after(async () => {
    await w?.cleanup();
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${w.url}${path}`, { headers, redirect: 'manual' });

  test('without the token a page is 401: the sign-in form for a browser, JSON for a script; a wrong token is 401 too', async () => {
    const page = await get('/hubs/shop');
    assert.equal(page.status, 401);
    const text = await page.text();
    assert.match(text, /<form class="login" method="post" action="\/login">/);
    assert.match(text, /name="next" value="\/hubs\/shop"/);
    assert.doesNotMatch(text, /globex/, 'nothing of the fleet is shown before signing in');
    const json = await get('/', { accept: 'application/json' });
    assert.equal(json.status, 401);
    assert.deepEqual(await json.json(), { error: 'unauthorized' });
    assert.equal(json.headers.get('www-authenticate'), 'Bearer realm="lynq"');
    assert.equal((await get('/', { authorization: 'Bearer not-the-token-at-all-0000' })).status, 401);
    assert.equal((await get('/', { authorization: `Bearer ${UI_TOKEN}x` })).status, 401);
    assert.equal(
      (await get('/', { cookie: `lynq_ui=${UI_TOKEN}` })).status,
      401,
      'the cookie is a session value, not the token',
    );
  });

  test('the right bearer token is accepted', async () => {
    const page = await get('/', bearer);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(await page.text(), /<h1>Fleet<\/h1>/);
  });

  test('the sign-in form sets an HttpOnly SameSite=Strict session cookie that then opens the pages; a wrong token does not', async () => {
    const wrong = await fetch(`${w.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'wrong-token-0123456789', next: '/hubs/shop' }),
      redirect: 'manual',
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /That token is not the one/);
    const right = await fetch(`${w.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: UI_TOKEN, next: '/hubs/shop' }),
      redirect: 'manual',
    });
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/hubs/shop');
    const cookie = right.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^lynq_ui=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(UI_TOKEN));
    assert.equal((await get('/hubs/shop', { cookie: cookie.split(';')[0]! })).status, 200);
    const elsewhere = await fetch(`${w.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: UI_TOKEN, next: '//evil.example/' }),
      redirect: 'manual',
    });
    assert.equal(elsewhere.headers.get('location'), '/', 'never sent off the site after signing in');
  });

  test('every answer of the view carries the strict CSP, nosniff and a Referrer-Policy; only GET and HEAD (and the login POST)', async () => {
    for (const path of [
      '/',
      '/hubs/shop',
      '/hubs/shop/forms/web',
      `/hubs/shop/forms/web/nodes/${DEGRADED}`,
      '/static/lynq.css',
      '/static/lynq.js',
      '/login',
      '/hubs/nope',
    ]) {
      const response = await get(path, bearer);
      assert.equal(response.headers.get('content-security-policy'), CSP, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
      await response.arrayBuffer();
    }
    assert.equal((await get('/static/lynq.css')).headers.get('content-type'), 'text/css; charset=utf-8');
    const post = await fetch(`${w.url}/hubs/shop`, { method: 'POST', headers: bearer });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${w.url}/hubs/shop`, { method: 'HEAD', headers: bearer });
    assert.equal(head.status, 200);
    assert.equal((await head.text()).length, 0);
    // The probes and the metrics are not behind the view's token.
    assert.equal((await get('/healthz')).status, 200);
  });

  test('each page is JSON at the same path with Accept: application/json', async () => {
    const fleet = (await (await get('/', asJson)).json()) as {
      hubs: Array<{ name: string; nodes: number; phases: Record<string, number> }>;
      problems: Array<{ kind: string; text: string; uid?: string }>;
      leadTime: string;
    };
    assert.equal(fleet.hubs[0]!.name, 'shop');
    assert.equal(fleet.hubs[0]!.nodes, 7);
    assert.equal(fleet.hubs[0]!.phases.Degraded, 1);
    assert.equal(fleet.hubs[0]!.phases.Ready, 6);
    assert.deepEqual(fleet.problems[0], {
      kind: 'degraded',
      text: fleet.problems[0]!.text,
      hub: 'shop',
      form: 'web',
      uid: DEGRADED,
      url: `/hubs/shop/forms/web/nodes/${DEGRADED}`,
    });
    assert.equal(fleet.leadTime, 'not measured');
    const hub = (await (await get('/hubs/shop?q=e&phase=Ready', asJson)).json()) as {
      nodes: Array<{ uid: string; phase: string }>;
      matching: number;
      total: number;
    };
    assert.equal(hub.total, 7);
    assert.ok(hub.nodes.every((node) => node.phase === 'Ready' && node.uid.includes('e')));
    assert.equal(hub.matching, hub.nodes.length);
    const form = (await (await get('/hubs/shop/forms/web', asJson)).json()) as { nodes: Array<{ uid: string }> };
    assert.equal(form.nodes[0]!.uid, DEGRADED, 'problems first');
    const node = (await (await get(`/hubs/shop/forms/web/nodes/${DEGRADED}`, asJson)).json()) as {
      phase: string;
      conditions: Array<{ type: string; status: string }>;
      history: Array<{ change: string; why: string }>;
      files: Array<{ path: string }>;
      appliedRevision: string;
    };
    assert.equal(node.phase, 'Degraded');
    assert.deepEqual(
      node.conditions.map((condition) => [condition.type, condition.status]),
      [
        ['Ready', 'False'],
        ['Progressing', 'False'],
        ['Degraded', 'True'],
      ],
    );
    assert.equal(node.appliedRevision, await w.head());
    assert.deepEqual(
      node.history.map((entry) => entry.change),
      ['added'],
    );
    assert.ok(node.files.some((file) => file.path === `nodes/shop/web/${DEGRADED}/settings.yaml`));
  });

  test('an unknown hub, form or uid is 404, as HTML and as JSON', async () => {
    for (const path of [
      '/hubs/nope',
      '/hubs/shop/forms/nope',
      '/hubs/shop/forms/web/nodes/nope',
      '/hubs/nope/forms/web/nodes/acme',
      '/hubs/shop/forms/web/nodes/acme/more',
    ]) {
      const page = await get(path, bearer);
      assert.equal(page.status, 404, path);
      assert.match(await page.text(), /<h1>Not found<\/h1>/, path);
      const json = await get(path, asJson);
      assert.equal(json.status, 404, path);
      assert.match(((await json.json()) as { error: string }).error, /^no /, path);
    }
  });

  test('a value the form uses in a Secret is masked on every page; a hostile value is escaped as text', async () => {
    const page = await (await get('/hubs/shop/forms/web/nodes/evil-img', bearer)).text();
    const json = await (await get('/hubs/shop/forms/web/nodes/evil-img', asJson)).text();
    for (const text of [page, json]) assert.ok(!text.includes(SECRET_VALUE), 'the secret value is on no page');
    const values = (JSON.parse(json) as { row: { values: Array<{ name: string; value: string; masked: boolean }> } })
      .row.values;
    assert.deepEqual(
      values.find((value) => value.name === 'apikey'),
      { name: 'apikey', value: '••••••', masked: true },
    );
    assert.deepEqual(
      values.find((value) => value.name === 'note'),
      { name: 'note', value: HOSTILE[1], masked: false },
    );
    assert.ok(!page.includes(HOSTILE[1]), 'the raw markup is never in the HTML');
    assert.ok(page.includes('&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;'));
    const script = await (await get('/hubs/shop/forms/web/nodes/evil-script', bearer)).text();
    assert.ok(!script.includes(HOSTILE[0]));
    assert.ok(script.includes('&lt;script&gt;window.__pwned=1&lt;/script&gt;'));
  });

  test('a failing row and a rejected config file are problems on the fleet page; the failing node has a page with its error', async () => {
    await w.db.exec("INSERT INTO customers VALUES ('Bad_Row', true, 'gold', 'x', 'y')");
    await writeFile(
      path.join(w.dir, 'forms', 'broken.yaml'),
      'apiVersion: operator.lynq.sh/v1\nkind: LynqForm\nmetadata: { name: broken }\nspec: { hubId: shop, configMaps: [ { id: 1 } ] }\n',
    );
    w.serve.child.kill('SIGHUP');
    await w.serve.waitForLog(
      (logs) => logs.some((line) => line.msg === 'config file rejected; its last good version stays in force'),
      'the broken file rejected',
    );
    const finished = w.serve.logs.filter((line) => line.msg === 'sync finished').length;
    assert.equal(
      (
        await fetch(`${w.url}/hooks/sync/shop`, {
          method: 'POST',
          headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` },
        })
      ).status,
      202,
    );
    await w.serve.waitForLog(
      (logs) => logs.filter((line) => line.msg === 'sync finished').length > finished,
      'the webhook sync',
    );
    const fleet = (await (await get('/', asJson)).json()) as {
      problems: Array<{ kind: string; text: string; uid?: string; url?: string }>;
    };
    const failed = fleet.problems.find((problem) => problem.kind === 'failed');
    assert.equal(failed?.uid, 'Bad_Row');
    assert.match(failed?.text ?? '', /Bad_Row/);
    assert.ok(fleet.problems.some((problem) => problem.kind === 'config' && problem.text.includes('broken.yaml')));
    assert.deepEqual(
      fleet.problems.map((problem) => problem.kind).filter((kind, index, all) => all.indexOf(kind) === index),
      ['degraded', 'failed', 'config'],
      'Degraded nodes first, config problems last',
    );
    const node = await get(failed!.url!, bearer);
    assert.equal(node.status, 200);
    const text = await node.text();
    assert.match(text, /<span class="mark s-failed">failed<\/span>/);
    assert.match(text, /No files in Git for this node/);
  });

  test('a service started again, before any read-back of its own (here: no cluster at all), shows the health the status memo kept', async () => {
    await stopLynq(w.serve);
    const again = startLynq(
      [
        'serve',
        '--hubs',
        path.join(w.dir, 'hubs'),
        '--forms',
        path.join(w.dir, 'forms'),
        '--listen',
        '127.0.0.1:0',
        '--no-watch',
        '--ui',
      ],
      {
        LYNQ_CACHE_DIR: path.join(w.dir, 'cache'),
        HOME: w.dir,
      },
    );
    try {
      const url = await again.url();
      const node = (await (
        await fetch(`${url}/hubs/shop/forms/web/nodes/${DEGRADED}`, { headers: { accept: 'application/json' } })
      ).json()) as {
        phase: string;
        healthFrom: string;
        readAt: string | null;
        conditions: Array<{ type: string; status: string }>;
      };
      assert.equal(node.phase, 'Degraded');
      assert.equal(node.healthFrom, 'status memo');
      assert.equal(node.readAt, null);
      assert.deepEqual(node.conditions.find((condition) => condition.type === 'Degraded')?.status, 'True');
      const page = await (await fetch(`${url}/hubs/shop/forms/web/nodes/${DEGRADED}`)).text();
      assert.match(page, /as the last read-back before this service started left it \(the status memo\)/);
    } finally {
      await stopLynq(again);
    }
  });
});

describe('lynq serve --ui: when it is open, and when it refuses to start', () => {
  test('on a non-loopback address without a token, serve refuses to start with a config error (exit 2)', async () => {
    const w = await serveWorld([]);
    try {
      const proc = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '0.0.0.0:0', '--ui'], {
        LYNQ_CACHE_DIR: `${w.dir}/cache`,
      });
      assert.equal(await proc.exited, 2);
      assert.match(proc.stderr(), /--ui on 0\.0\.0\.0 \(not a loopback address\) needs a token: set LYNQ_UI_TOKEN/);
      const byEnv = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '0.0.0.0:0'], {
        LYNQ_CACHE_DIR: `${w.dir}/cache`,
        LYNQ_UI: '1',
      });
      assert.equal(await byEnv.exited, 2, 'LYNQ_UI=1 is --ui');
    } finally {
      await w.cleanup();
    }
  });

  test('on loopback without a token the view is open; without --ui its paths are 404', async () => {
    const w = await serveWorld([]);
    try {
      await mkdir(w.hubsDir);
      await mkdir(w.formsDir);
      const open = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '127.0.0.1:0', '--ui'], {
        LYNQ_CACHE_DIR: `${w.dir}/cache`,
      });
      try {
        const page = await fetch(`${await open.url()}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /No hubs\./);
      } finally {
        await stopLynq(open);
      }
      const off = startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '127.0.0.1:0'], {
        LYNQ_CACHE_DIR: `${w.dir}/cache`,
      });
      try {
        for (const path of ['/', '/hubs/shop', '/static/lynq.css', '/login'])
          assert.equal((await fetch(`${await off.url()}${path}`)).status, 404, path);
      } finally {
        await stopLynq(off);
      }
    } finally {
      await w.cleanup();
    }
  });
});
