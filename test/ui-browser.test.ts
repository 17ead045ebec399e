// @slow: lynq serve --ui against PostgreSQL, a bare repository and the fake Kubernetes API, driven by Debian's Chromium
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { changedNodes } from './helpers/git.ts';
import { argoApp } from './helpers/health-world.ts';
import { DEGRADED, HOSTILE, makeUiWorld, UI_TOKEN, uiForm, WEBHOOK_TOKEN, type UiWorld } from './helpers/ui-world.ts';

/** Where the pages' screenshots go (gitignored); docs/images/ holds the one the docs show. */
const SHOTS = path.resolve('test-output/ui');
/** The flags Chromium needs on this machine (headless, as root, no GPU, no calls home). */
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
};
/** A laptop's screen. */
const VIEWPORT = { width: 1366, height: 768 };

describe('the web view in a real browser: fleet → hub → node, search, history, rollout, hostile values', () => {
  let w: UiWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors (a CSP violation, a script error): a page must raise none. */
  const errors: string[] = [];

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    w = await makeUiWorld();
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
    context = await browser.newContext({ viewport: VIEWPORT });
    page = await context.newPage();
    page.on('console', (message) => {
      // The sign-in page itself answers 401 (the browser logs that); anything else is a fault.
      if (message.type() === 'error' && !/status of 401/.test(message.text())) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
  });
  after(async () => {
    await browser?.close();
    await w?.cleanup();
  });
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  test('signing in with the form, the fleet lists the Degraded node first among its problems', async () => {
    await page.goto(`${w.url}/`);
    assert.equal(await page.title(), 'Sign in · Lynq bridge');
    await page.getByLabel('Token').fill(UI_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${w.url}/`);
    assert.equal(await page.locator('h1').textContent(), 'Fleet');
    const firstProblem = page.locator('.problems li').first();
    assert.match((await firstProblem.textContent()) ?? '', new RegExp(`degraded\\s+shop/web/${DEGRADED} Degraded`));
    assert.match((await page.locator('tr.hub').first().textContent()) ?? '', /shop\s*7/);
    assert.match((await page.locator('svg.bar').first().getAttribute('aria-label')) ?? '', /1 Degraded.*6 Ready/);
    assert.match((await page.locator('#lead + p').textContent()) ?? '', /Not measured/);
    await shot('fleet');
    assert.deepEqual(errors, []);
  });

  test('the hub page lists the Degraded node first; a uid search (server side) narrows the table; a row links to its node', async () => {
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.waitForURL(`${w.url}/hubs/shop`);
    assert.equal(await page.locator('table.nodes tbody tr').count(), 7);
    assert.equal(await page.locator('table.nodes tbody tr').first().locator('th').textContent(), DEGRADED);
    assert.equal(await page.locator('table.nodes tbody tr').first().locator('.badge').textContent(), 'Degraded');
    await shot('hub');
    await page.getByLabel('uid contains').fill('init');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/hubs\/shop\?q=init/);
    assert.deepEqual(await page.locator('table.nodes tbody th').allTextContents(), ['initech']);
    await page.getByRole('link', { name: 'initech' }).click();
    await page.waitForURL(`${w.url}/hubs/shop/forms/web/nodes/initech`);
    assert.equal(await page.locator('h1').textContent(), 'Node shop/web/initech');
    assert.deepEqual(errors, []);
  });

  test("a node's page: health, its row (the secret-mapped value masked), files highlighted, and its history", async () => {
    await page.goto(`${w.url}/hubs/shop/forms/web/nodes/${DEGRADED}`);
    assert.equal(await page.locator('.facts .badge').first().textContent(), 'Degraded');
    assert.equal(await page.locator('table.kv tr', { hasText: 'apikey' }).locator('td').textContent(), '••••••');
    assert.ok((await page.locator('pre.yaml .yk').count()) > 0, 'the YAML is highlighted');
    await page.getByRole('link', { name: 'History' }).click();
    await page.waitForURL(/#history$/);
    const history = page.locator('table.history tbody tr');
    assert.equal(await history.count(), 1);
    assert.match((await history.first().textContent()) ?? '', /added/);
    assert.ok(await page.locator('#history').isVisible());
    await shot('node');
    assert.deepEqual(errors, []);
  });

  test('the rollout of a form change is followed on the form page, up to its halt and the command that resumes it', async () => {
    const before = await w.head();
    const syncs = () =>
      w.serve.logs.filter((line) => line.msg === 'sync finished' && line.outcome === 'published').length;
    const published = syncs();
    await writeFile(w.formFile, uiForm('2'));
    w.serve.child.kill('SIGHUP');
    await w.serve.waitForLog(() => syncs() > published, 'the sync of the changed form');
    const [first] = await changedNodes(w.repo, before, await w.head());
    assert.ok(first !== undefined, 'the first rollout step changed a node');
    await page.goto(`${w.url}/hubs/shop/forms/web`);
    assert.equal(
      (await page.locator('.rollout .progress').textContent())?.trim(),
      '0 of 7 done, 1 in progress, 0 halted, 6 waiting',
    );
    // The engine applies the step, and the node turns Degraded: the next sync halts the rollout.
    const node = (await w.nodes()).find((item) => item.metadata.name === `${first}-web`)!;
    w.fake.put('Application', argoApp(node, 'application-degraded-synced.yaml', await w.head()));
    const response = await fetch(`${w.url}/hooks/sync/shop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` },
    });
    assert.equal(response.status, 202);
    const after = w.serve.logs.filter((line) => line.msg === 'sync finished').length;
    await w.serve.waitForLog(
      (logs) => logs.filter((line) => line.msg === 'sync finished').length > after,
      'the webhook sync',
    );
    await page.reload();
    assert.match((await page.locator('.rollout .progress').textContent()) ?? '', /, 1 halted/);
    assert.match((await page.locator('.rollout .err').textContent()) ?? '', new RegExp(`Halted by ${first}`));
    assert.equal(await page.locator('.rollout pre.cmd').textContent(), 'lynq rollout resume shop/web');
    await shot('form-rollout');
    await page.goto(`${w.url}/`);
    assert.match((await page.locator('.problems').textContent()) ?? '', /halted\s+shop\/web rollout halted by/);
    assert.deepEqual(errors, []);
  });

  test('hostile row values are shown as text, and no script they carry runs', async () => {
    for (const [uid, text] of [
      ['evil-script', HOSTILE[0]],
      ['evil-img', HOSTILE[1]],
    ] as const) {
      await page.goto(`${w.url}/hubs/shop/forms/web/nodes/${uid}`);
      const cell = page.locator('table.kv tr', { hasText: 'note' }).locator('code');
      assert.equal(await cell.textContent(), text);
      assert.ok(await cell.isVisible());
      assert.ok(await page.getByText(text, { exact: true }).first().isVisible());
      assert.equal(await page.locator('img').count(), 0, 'no element came from the value');
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      assert.equal(await page.locator('script').count(), 1, 'only the page own script');
    }
    await shot('node-hostile');
    assert.deepEqual(errors, []);
  });

  test('keyboard: the first Tab reaches the skip link, which moves focus to the content; every page works without JavaScript', async () => {
    await page.goto(`${w.url}/hubs/shop`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q', '"/" focuses the search (the one script)');
    const noJs = await browser.newContext({
      viewport: VIEWPORT,
      javaScriptEnabled: false,
      extraHTTPHeaders: { authorization: `Bearer ${UI_TOKEN}` },
    });
    try {
      const plain = await noJs.newPage();
      await plain.goto(`${w.url}/hubs/shop/forms/web`);
      await plain.getByLabel('phase').selectOption('Degraded');
      await plain.getByRole('button', { name: 'Filter' }).click();
      await plain.waitForURL(/phase=Degraded/);
      assert.ok((await plain.locator('table.nodes tbody th').allTextContents()).includes(DEGRADED));
    } finally {
      await noJs.close();
    }
  });
});
