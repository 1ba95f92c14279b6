// A real browser (headless Chromium) on another origin than the API: two tabs refreshing at the
// same moment with one refresh token in localStorage, and the HttpOnly refresh cookie mode.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { REFRESH, countingProxy, signup, startServer } from './support/harness.js';

const CHROMIUM = process.env.LATCHKEY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is required under CI=true`);

/** The web app: a page that loads the built SDK, served from its own origin. */
async function pageServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><script type="module">
        import { LatchkeyClient, LocalStorageAdapter } from '/dist/index.js';
        const params = new URLSearchParams(location.search);
        const api = params.get('api');
        window.lk = params.get('mode') === 'cookie'
          ? new LatchkeyClient({ baseUrl: api, refreshTokenMode: 'cookie' })
          : new LatchkeyClient({ baseUrl: api, storage: new LocalStorageAdapter() });
        window.ready = true;
      </script>`);
      return;
    }
    const file = path.join(root, path.normalize(url.pathname));
    if (!file.startsWith(path.join(root, 'dist')) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('two browser tabs', { skip: missing && `${CHROMIUM} is not installed` }, () => {
  let page;
  let server;
  let proxy;
  let browser;
  before(async () => {
    page = await pageServer();
    server = await startServer({ LATCHKEY_CORS_ORIGINS: page.origin, LATCHKEY_REFRESH_COOKIE: 'true' });
    proxy = await countingProxy(server.base);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
    await page?.close();
  });

  test('refreshing at the same moment makes one refresh, and both tabs are signed in', async () => {
    const { email, password } = await signup(server.base);
    const context = await browser.newContext();
    const url = `${page.origin}/?api=${encodeURIComponent(proxy.base)}`;
    const open = async () => {
      const tab = await context.newPage();
      await tab.goto(url);
      await tab.waitForFunction(() => window.ready === true);
      return tab;
    };
    const one = await open();
    const two = await open();
    assert.equal(await one.evaluate(() => !!navigator.locks), true, 'Web Locks are there');

    await one.evaluate(([e, p]) => window.lk.login(e, p).then(() => undefined), [email, password]);
    // Both tabs reloaded: memory empty, one refresh token in localStorage.
    await Promise.all([one.reload(), two.reload()]);
    await Promise.all([one, two].map((t) => t.waitForFunction(() => window.ready === true)));
    assert.equal(await two.evaluate(() => window.lk.currentAccessToken()), null);
    proxy.reset();

    const me = () =>
      window.lk.fetch('/api/v1/me').then(async (r) => ({ status: r.status, email: (await r.json()).email }));
    const [a, b] = await Promise.all([one.evaluate(me), two.evaluate(me)]);
    assert.deepEqual(a, { status: 200, email });
    assert.deepEqual(b, { status: 200, email });
    assert.equal(proxy.count(REFRESH), 1, 'one refresh for both tabs');
    const stored = await two.evaluate(() => localStorage.getItem('latchkey.refresh_token'));
    assert.match(stored, /^lkr_/);
    await context.close();
  });

  test('cookie mode across origins: no script sees the refresh token, a reload stays signed in', async () => {
    const { email, password } = await signup(server.base);
    const context = await browser.newContext();
    const tab = await context.newPage();
    const url = `${page.origin}/?mode=cookie&api=${encodeURIComponent(proxy.base)}`;
    await tab.goto(url);
    await tab.waitForFunction(() => window.ready === true);
    const login = await tab.evaluate(
      ([e, p]) => window.lk.login(e, p).then((t) => ({ refresh: t.refresh_token ?? null })),
      [email, password],
    );
    assert.equal(login.refresh, null, 'not in the body');
    assert.equal(await tab.evaluate(() => document.cookie), '', 'not visible to scripts');
    const cookies = await context.cookies(`${proxy.base}/api/v1/auth/refresh`);
    const cookie = cookies.find((c) => c.name === 'latchkey_refresh');
    assert.ok(cookie, 'the browser keeps the cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');

    await tab.reload();
    await tab.waitForFunction(() => window.ready === true);
    proxy.reset();
    const me = await tab.evaluate(() =>
      window.lk.fetch('/api/v1/me').then(async (r) => ({ status: r.status, email: (await r.json()).email })),
    );
    assert.deepEqual(me, { status: 200, email });
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(proxy.count('OPTIONS /api/v1/auth/refresh'), 1, 'the browser asked CORS first');
    await context.close();
  });
});
