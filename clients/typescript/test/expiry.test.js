// After the access token expires: proactive and reactive refresh, a 403 `invalid_token` server,
// the axios adapter, and sockets that reconnect with the new token. One real server with the
// shortest access tokens it allows (10 s); every client signs in first, then all wait once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import axios from 'axios';
import { io as ioClient } from 'socket.io-client';
import { WebSocket } from 'ws';

import { LatchkeyClient, attachAxios, keepSocketIo, keepWebSocket } from '../dist/index.js';
import { socketIoApp, webSocketApp } from './support/apps.js';
import { REFRESH, countingProxy, eventually, signup, startServer } from './support/harness.js';

// A device that believes its token is good for another hour: the server's refusal is what
// makes it refresh (a clock that is wrong, or a token revoked for a reason the client cannot see).
const TRUSTING = -3600;

describe('a server whose access tokens last 10 seconds', () => {
  let server;
  let proxy;
  let proxy403;
  const clients = {};
  let oldTokens = {};

  before(async () => {
    server = await startServer({ LATCHKEY_ACCESS_TOKEN_TTL: '10s' });
    proxy = await countingProxy(server.base);
    proxy403 = await countingProxy(server.base, { expiryAs403: true });
    const plan = {
      proactive: [proxy, 0],
      reactive: [proxy, TRUSTING],
      as403: [proxy403, TRUSTING],
      axios: [proxy, TRUSTING],
      socketIo: [proxy, TRUSTING],
      webSocket: [proxy, TRUSTING],
    };
    for (const [name, [via, refreshMargin]] of Object.entries(plan)) {
      const { email, password } = await signup(server.base);
      clients[name] = new LatchkeyClient({ baseUrl: via.base, refreshMargin });
      oldTokens[name] = (await clients[name].login(email, password)).access_token;
    }
    // Wait until the server refuses the last token issued (so every one has expired).
    const last = oldTokens.webSocket;
    await eventually(
      async () =>
        (await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${last}` } }))
          .status === 401,
      30_000,
      'the access tokens to expire',
    );
    proxy.reset();
    proxy403.reset();
  });

  after(async () => {
    await proxy?.close();
    await proxy403?.close();
    await server?.stop();
  });

  test('50 concurrent requests after expiry cause exactly one refresh', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => clients.proactive.fetch('/api/v1/me')),
    );
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(proxy.count('GET /api/v1/me'), 50, 'refreshed first: no request was refused');
  });

  test('50 concurrent requests refused with 401 share one refresh and are retried once', async () => {
    proxy.reset();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => clients.reactive.fetch('/api/v1/me')),
    );
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(proxy.count(REFRESH), 1);
    assert.equal(proxy.count('GET /api/v1/me'), 100, 'each request sent twice: refused, retried');
  });

  test('a 403 whose error is invalid_token is handled like a 401', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => clients.as403.fetch('/api/v1/me')),
    );
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(proxy403.count(REFRESH), 1);
  });

  test('the axios adapter refreshes once and retries the refused requests', async () => {
    proxy.reset();
    const api = axios.create({ baseURL: proxy.base });
    attachAxios(clients.axios, api);
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.get('/api/v1/me')));
    assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
    assert.equal(proxy.count(REFRESH), 1);
    // A refusal that is not about the token goes to the caller untouched.
    await assert.rejects(api.get('/api/v1/no-such-route'), (e) => e.response.status === 404);
    assert.equal(proxy.count(REFRESH), 1);
  });

  test('Socket.IO reconnects with a fresh token after connect_error says it expired', async () => {
    const { io, url, seen, close } = await socketIoApp(server.base);
    try {
      proxy.reset();
      const socket = keepSocketIo(
        clients.socketIo,
        ioClient(url, { autoConnect: false, transports: ['websocket'], reconnection: false }),
      );
      await eventually(() => socket.connected, 15_000, 'the socket to connect');
      assert.equal(seen[0], oldTokens.socketIo, 'first try with the expired token');
      assert.equal(seen.at(-1), clients.socketIo.currentAccessToken());
      assert.notEqual(seen.at(-1), oldTokens.socketIo);
      assert.equal(proxy.count(REFRESH), 1);
      socket.disconnect();
    } finally {
      await close(io);
    }
  });

  test('the WebSocket helper reopens with a new token after a 4001 close', async () => {
    const { url, seen, close } = await webSocketApp(server.base);
    proxy.reset();
    const opened = [];
    const stop = keepWebSocket(clients.webSocket, '/ws', {
      open: (u) => new WebSocket(u.replace(clients.webSocket.baseUrl.replace('http', 'ws'), url)),
      onSocket: (s) => opened.push(s),
    });
    try {
      await eventually(() => opened.at(-1)?.readyState === WebSocket.OPEN && seen.length === 2, 15_000, 'reopen');
      assert.equal(seen[0], oldTokens.webSocket);
      assert.equal(seen[1], clients.webSocket.currentAccessToken());
      assert.equal(proxy.count(REFRESH), 1);
    } finally {
      stop();
      await close();
    }
  });
});
