// Cookie mode: the refresh token never reaches script-visible storage or response bodies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { LatchkeyClient, MemoryStorage } from '../dist/index.js';
import { REFRESH, countingProxy, signup, startServer } from './support/harness.js';

/** What a browser does with the cookie, for this one server: keep it, send it back. */
function cookieJarFetch() {
  const jar = new Map();
  const bodies = [];
  const f = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.credentials === 'include' && jar.size) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(input, { ...init, headers });
    const setCookies = res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie')].filter(Boolean);
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const [name, value] = pair.split('=');
      if (/Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    bodies.push(await res.clone().text());
    return res;
  };
  return { fetch: f, jar, bodies };
}

describe('a server offering the refresh cookie', () => {
  let server;
  let proxy;
  before(async () => {
    server = await startServer({ LATCHKEY_REFRESH_COOKIE: 'true' });
    proxy = await countingProxy(server.base);
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  test('cookie mode signs in, refreshes with the cookie alone, and logs out', async () => {
    const { email, password } = await signup(server.base);
    const browser = cookieJarFetch();
    const storage = new MemoryStorage();
    const options = { baseUrl: proxy.base, storage, refreshTokenMode: 'cookie', fetch: browser.fetch };
    await new LatchkeyClient(options).login(email, password);
    assert.match(browser.jar.get('latchkey_refresh'), /^lkr_/);

    // A reloaded page: nothing in memory, nothing in storage, only the cookie.
    const page = new LatchkeyClient(options);
    proxy.reset();
    const answers = await Promise.all(Array.from({ length: 10 }, () => page.fetch('/api/v1/me')));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(storage.get('latchkey.refresh_token'), null);
    assert.ok(browser.bodies.every((b) => !b.includes('lkr_')), 'no refresh token in any body');

    await page.logout();
    assert.equal(browser.jar.has('latchkey_refresh'), false);
  });
});
