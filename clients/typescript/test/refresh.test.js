// The refresh rules against a real server: single-flight, refresh-first, margin, expiry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { io as ioClient } from 'socket.io-client';

import {
  ApiKeyClient,
  LatchkeyClient,
  LatchkeyError,
  MemoryStorage,
  keepSocketIo,
  webSocketUrl,
} from '../dist/index.js';
import { socketIoApp } from './support/apps.js';
import { REFRESH, countingProxy, eventually, signup, startServer } from './support/harness.js';

describe('a server with the default 15 minute access tokens', () => {
  let server;
  let proxy;
  before(async () => {
    server = await startServer();
    proxy = await countingProxy(server.base);
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  test('100 concurrent requests from an empty memory cause exactly one refresh', async () => {
    const { email, password } = await signup(server.base);
    const storage = new MemoryStorage();
    await new LatchkeyClient({ baseUrl: proxy.base, storage }).login(email, password);
    // The app is re-opened: the store holds the refresh token, memory holds nothing.
    const client = new LatchkeyClient({ baseUrl: proxy.base, storage });
    assert.equal(client.currentAccessToken(), null);
    proxy.reset();

    const answers = await Promise.all(
      Array.from({ length: 100 }, () => client.fetch('/api/v1/me')),
    );
    assert.deepEqual(
      answers.map((r) => r.status),
      Array(100).fill(200),
    );
    const me = await answers[0].json();
    assert.equal(me.email, email);
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(proxy.count('GET /api/v1/me'), 100);
  });

  test('a token inside the refresh margin is refreshed before the request', async () => {
    const { email, password } = await signup(server.base);
    const relaxed = new LatchkeyClient({ baseUrl: proxy.base, refreshMargin: 60 });
    await relaxed.login(email, password);
    proxy.reset();
    assert.equal((await relaxed.fetch('/api/v1/me')).status, 200);
    assert.equal(proxy.count(REFRESH), 0, 'a token far from expiry is used as it is');

    // A margin longer than the token's whole life puts every token inside it.
    const eager = new LatchkeyClient({ baseUrl: proxy.base, refreshMargin: 16 * 60 });
    const login = await eager.login(email, password);
    proxy.reset();
    assert.equal((await eager.fetch('/api/v1/me')).status, 200);
    assert.equal(proxy.count(REFRESH), 1);
    assert.notEqual(eager.currentAccessToken(), login.access_token);
  });

  test('a revoked session fires onSessionExpired once, with one refresh attempt and no loop', async () => {
    const { email, password } = await signup(server.base);
    const storage = new MemoryStorage();
    const client = new LatchkeyClient({ baseUrl: proxy.base, storage });
    let expired = 0;
    client.onSessionExpired(() => expired++);
    const login = await client.login(email, password);
    // Signed out everywhere from another device.
    const out = await fetch(`${server.base}/api/v1/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${login.access_token}` },
    });
    assert.equal(out.status, 200);
    proxy.reset();

    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => client.fetch('/api/v1/me')),
    );
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof LatchkeyError);
      assert.equal(r.reason.error, 'session_expired');
    }
    assert.equal(expired, 1);
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(storage.get('latchkey.refresh_token'), null, 'the spent session is forgotten');

    // Later requests neither call the server nor fire again.
    await assert.rejects(client.fetch('/api/v1/me'), (e) => e.error === 'not_signed_in');
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(expired, 1);
  });

  test('a 403 that is not about the token is returned without a refresh', async () => {
    const admin = await signup(server.base);
    const org = await fetch(`${server.base}/api/v1/org`, {
      headers: { authorization: `Bearer ${admin.tokens.access_token}` },
    }).then((r) => r.json());
    const member = await signup(server.base, { referral_code: org.referral_code });
    const client = new LatchkeyClient({ baseUrl: proxy.base });
    await client.login(member.email, member.password);
    proxy.reset();
    const res = await client.fetch('/api/v1/admin/users');
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error, 'forbidden');
    assert.equal(proxy.count(REFRESH), 0);
  });

  test('storage only ever holds the refresh token and the device token, never the email or password', async () => {
    const writes = [];
    const inner = new MemoryStorage();
    const storage = {
      get: (k) => inner.get(k),
      set: (k, v) => {
        writes.push([k, v]);
        inner.set(k, v);
      },
      remove: (k) => inner.remove(k),
    };
    const email = `store${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    const client = new LatchkeyClient({ baseUrl: proxy.base, storage, refreshMargin: 16 * 60 });
    await client.signup({ email, password });
    await client.login(email, password);
    assert.equal((await client.fetch('/api/v1/me')).status, 200); // refreshes (margin)
    await client.logout();

    assert.ok(writes.length >= 3);
    for (const [key, value] of writes) {
      // The device token of the last sign-in (`X-Device-Token`) is kept beside it.
      const expected = { 'latchkey.refresh_token': /^lkr_/, 'latchkey.refresh_token.device': /^lkd_/ }[key];
      assert.ok(expected, `unexpected storage key ${key}`);
      assert.match(value, expected);
      assert.ok(!value.includes(email) && !value.includes(password));
      assert.ok(!value.startsWith('eyJ'), 'no access token in storage');
    }
    assert.equal(inner.get('latchkey.refresh_token'), null, 'logout clears the store');
  });

  test('logout ends the session at the server', async () => {
    const { email, password } = await signup(server.base);
    const client = new LatchkeyClient({ baseUrl: proxy.base });
    const login = await client.login(email, password);
    await client.logout();
    const res = await fetch(`${server.base}/api/v1/me`, {
      headers: { authorization: `Bearer ${login.access_token}` },
    });
    assert.equal(res.status, 401);
    await assert.rejects(client.getAccessToken(), (e) => e.error === 'not_signed_in');
  });

  test('wrong credentials answer the server error, and nothing is stored', async () => {
    const { email } = await signup(server.base);
    const storage = new MemoryStorage();
    const client = new LatchkeyClient({ baseUrl: proxy.base, storage });
    await assert.rejects(client.login(email, 'not the password at all'), (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.error, 'invalid_credentials');
      return true;
    });
    assert.equal(storage.get('latchkey.refresh_token'), null);
  });

  test('a server that cannot be reached does not end the session', async () => {
    const { email, password } = await signup(server.base);
    const storage = new MemoryStorage();
    await new LatchkeyClient({ baseUrl: server.base, storage }).login(email, password);
    let expired = 0;
    const closed = await countingProxy(server.base);
    const offline = new LatchkeyClient({ baseUrl: closed.base, storage });
    offline.onSessionExpired(() => expired++);
    await closed.close();
    await assert.rejects(offline.fetch('/api/v1/me'), (e) => e.error === 'network_error');
    assert.equal(expired, 0);
    assert.match(storage.get('latchkey.refresh_token'), /^lkr_/);
    // Back online (same store, reachable server): the session goes on.
    const online = new LatchkeyClient({ baseUrl: server.base, storage });
    assert.equal((await online.fetch('/api/v1/me')).status, 200);
  });
});

describe('sockets and API keys on a default server', () => {
  let server;
  let proxy;
  before(async () => {
    server = await startServer();
    proxy = await countingProxy(server.base);
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  test('the Socket.IO helper connects only once there is a token, and with it', async () => {
    const { io, url, seen, close } = await socketIoApp(server.base);
    try {
      const client = new LatchkeyClient({ baseUrl: proxy.base });
      const socket = keepSocketIo(
        client,
        ioClient(url, { autoConnect: false, transports: ['websocket'], reconnection: false }),
      );
      const { email, password } = await signup(server.base);
      const url2 = webSocketUrl(client, '/api/v1/ws');
      let built = null;
      url2.then((u) => (built = u));
      // A few round trips later, still nothing has been attempted without a session.
      for (let i = 0; i < 3; i++) await fetch(`${server.base}/healthz`);
      assert.equal(seen.length, 0);
      assert.equal(socket.connected, false);
      assert.equal(built, null);

      await client.login(email, password);
      await eventually(() => socket.connected, 10_000, 'the socket to connect');
      assert.deepEqual(seen, [client.currentAccessToken()]);
      const wsUrl = new URL(await url2);
      assert.equal(wsUrl.protocol, 'ws:');
      assert.equal(wsUrl.pathname, '/api/v1/ws');
      assert.equal(wsUrl.searchParams.get('access_token'), client.currentAccessToken());
      socket.disconnect();
    } finally {
      await close(io);
    }
  });

  test('the API-key client fetches one auth token for concurrent requests and renews it on 401', async () => {
    const { tokens } = await signup(server.base);
    const client = new ApiKeyClient({ baseUrl: proxy.base, apiKey: tokens.api_key.key });
    proxy.reset();
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/api/v1/me')));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal((await answers[0].json()).key_id, tokens.api_key.id);
    assert.equal(proxy.count('POST /get-token'), 1);

    // The auth token is ended at the server (its key rotated with no overlap, the new secret
    // given to the client): the next request is refused once, renewed once, and succeeds.
    const rotated = await fetch(`${server.base}/api/v1/api-keys/${tokens.api_key.id}/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ overlap_seconds: 0 }),
    });
    assert.equal(rotated.status, 200, await rotated.clone().text());
    client.setApiKey((await rotated.json()).key);
    const again = await client.fetch('/api/v1/me');
    assert.equal(again.status, 200);
    assert.equal(proxy.count('POST /get-token'), 2);
    assert.equal(proxy.count('GET /api/v1/me'), 22);
  });
});
