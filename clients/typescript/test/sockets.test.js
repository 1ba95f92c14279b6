// The socket helpers against Latchkey's own endpoints: the WebSocket at /api/v1/ws (4001 at
// expiry, in-band `auth` renewal, 4003 on logout) and Socket.IO at /socket.io/ (`auth: {token}`,
// `connect_error` "expired:", the `auth` event). One real server with 10-second access tokens;
// the tests run side by side so their waits for expiry overlap.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { io as ioClient } from 'socket.io-client';
import { WebSocket } from 'ws';

import { LatchkeyClient, keepSocketIo, keepWebSocket } from '../dist/index.js';
import { eventually, signup, startServer } from './support/harness.js';

const EXPIRY_WAIT = 25_000;

describe('socket helpers against Latchkey /api/v1/ws and /socket.io/', { concurrency: true }, () => {
  let server;

  before(async () => {
    server = await startServer({ LATCHKEY_ACCESS_TOKEN_TTL: '10s' });
  });

  after(async () => {
    await server?.stop();
  });

  /** A client with no session yet, and an account to sign in with. */
  async function fresh(refreshMargin = 1) {
    const account = await signup(server.base);
    return { client: new LatchkeyClient({ baseUrl: server.base, refreshMargin }), ...account };
  }

  /** keepWebSocket on /api/v1/ws, recording every socket, message and close. */
  function watchWebSocket(client, options = {}) {
    const sockets = [];
    const ended = [];
    const stop = keepWebSocket(client, '/api/v1/ws', {
      ...options,
      open: (url) => {
        const socket = new WebSocket(url);
        const entry = { socket, url, token: new URL(url).searchParams.get('access_token'), messages: [], close: null };
        socket.on('message', (data) => entry.messages.push(JSON.parse(String(data))));
        socket.on('close', (code) => (entry.close = code));
        sockets.push(entry);
        return socket;
      },
      onEnd: (code) => ended.push(code),
    });
    const of = (entry, type) => entry?.messages.filter((m) => m.type === type) ?? [];
    return { sockets, ended, stop, of };
  }

  /** keepSocketIo on /socket.io/, recording what the server sends. */
  function watchSocketIo(client, options = {}) {
    const seen = { connects: 0, ready: [], authOk: [], errors: [], expired: 0, revoked: 0 };
    const socket = ioClient(server.base, { autoConnect: false, transports: ['websocket'], reconnection: false });
    socket.on('connect', () => seen.connects++);
    socket.on('ready', (r) => seen.ready.push(r));
    socket.on('auth_ok', (r) => seen.authOk.push(r));
    socket.on('connect_error', (e) => seen.errors.push(e.message));
    socket.on('token_expired', () => seen.expired++);
    socket.on('session_revoked', () => seen.revoked++);
    keepSocketIo(client, socket, options);
    return { socket, seen };
  }

  test('WebSocket: waits for a session, then renews in-band and outlives its first token', async () => {
    const { client, email, password } = await fresh();
    const ws = watchWebSocket(client);
    try {
      await new Promise((r) => setImmediate(r));
      assert.equal(ws.sockets.length, 0, 'no socket before sign-in');
      const first = (await client.login(email, password)).access_token;
      await eventually(() => ws.of(ws.sockets[0], 'ready').length === 1, 10_000, 'ready');
      assert.equal(ws.sockets[0].token, first, 'connected with the token of the sign-in');
      const expiresAt = Date.parse(ws.of(ws.sockets[0], 'ready')[0].expires_at);
      await eventually(() => Date.now() > expiresAt + 1500, EXPIRY_WAIT, 'the first token to expire');
      const renewed = ws.of(ws.sockets[0], 'auth_ok');
      assert.ok(renewed.length >= 1, 'renewed in-band');
      assert.ok(Date.parse(renewed.at(-1).expires_at) > expiresAt);
      assert.equal(ws.sockets.length, 1, 'the same socket, never reopened');
      assert.equal(ws.sockets[0].socket.readyState, WebSocket.OPEN);
      assert.notEqual(client.currentAccessToken(), first);
      assert.deepEqual(ws.ended, []);
    } finally {
      ws.stop();
    }
  });

  test('WebSocket: without renewal, the 4001 close is followed by a socket with the new token', async () => {
    const { client, email, password } = await fresh();
    const ws = watchWebSocket(client, { renew: false });
    try {
      const first = (await client.login(email, password)).access_token;
      await eventually(() => ws.of(ws.sockets[1], 'ready').length === 1, EXPIRY_WAIT, 'the reopened socket');
      assert.equal(ws.sockets[0].token, first);
      assert.equal(ws.sockets[0].close, 4001);
      assert.equal(ws.of(ws.sockets[0], 'token_expired').length, 1);
      assert.notEqual(ws.sockets[1].token, first);
      assert.equal(ws.sockets[1].token, client.currentAccessToken());
      assert.equal(
        ws.of(ws.sockets[1], 'ready')[0].session_id,
        ws.of(ws.sockets[0], 'ready')[0].session_id,
        'the same session, a new token',
      );
      assert.equal(ws.sockets.length, 2);
    } finally {
      ws.stop();
    }
  });

  test('WebSocket: logout closes it with 4003 and the helper stops', async () => {
    const { client, email, password } = await fresh();
    const ws = watchWebSocket(client);
    await client.login(email, password);
    await eventually(() => ws.of(ws.sockets[0], 'ready').length === 1, 10_000, 'ready');
    await client.logout();
    await eventually(() => ws.ended.length === 1, 10_000, 'the helper to end');
    assert.deepEqual(ws.ended, [4003]);
    assert.equal(ws.sockets[0].close, 4003);
    assert.equal(ws.of(ws.sockets[0], 'session_revoked').length, 1);
    assert.equal(ws.sockets.length, 1, 'no reconnection after logout');
  });

  test('Socket.IO: waits for a session, then renews with the auth event past its first token', async () => {
    const { client, email, password } = await fresh();
    const { socket, seen } = watchSocketIo(client);
    try {
      await new Promise((r) => setImmediate(r));
      assert.equal(socket.active, false, 'no connection attempt before sign-in');
      await client.login(email, password);
      await eventually(() => seen.ready.length === 1, 10_000, 'ready');
      const expiresAt = Date.parse(seen.ready[0].expires_at);
      await eventually(() => Date.now() > expiresAt + 1500, EXPIRY_WAIT, 'the first token to expire');
      assert.ok(seen.authOk.length >= 1, 'renewed in-band');
      assert.ok(Date.parse(seen.authOk.at(-1).expires_at) > expiresAt);
      assert.equal(socket.connected, true);
      assert.equal(seen.connects, 1, 'never reconnected');
      assert.equal(seen.expired, 0);
    } finally {
      socket.disconnect();
    }
  });

  test('Socket.IO: without renewal, token_expired is followed by a connection with the new token', async () => {
    const { client, email, password } = await fresh();
    const { socket, seen } = watchSocketIo(client, { renew: false });
    try {
      const first = (await client.login(email, password)).access_token;
      await eventually(() => seen.ready.length === 2 && socket.connected, EXPIRY_WAIT, 'the reconnection');
      assert.equal(seen.expired, 1);
      assert.equal(seen.connects, 2);
      assert.equal(seen.ready[1].session_id, seen.ready[0].session_id);
      assert.ok(Date.parse(seen.ready[1].expires_at) > Date.parse(seen.ready[0].expires_at));
      assert.notEqual(client.currentAccessToken(), first);
    } finally {
      socket.disconnect();
    }
  });

  test('Socket.IO: connect_error "expired:" is answered by one refresh and a reconnection', async () => {
    // A device that believes its token is good for another hour: only the server's refusal
    // tells it otherwise.
    const { client, email, password } = await fresh(-3600);
    const first = (await client.login(email, password)).access_token;
    await eventually(
      async () =>
        (await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${first}` } })).status === 401,
      EXPIRY_WAIT,
      'the token to expire',
    );
    const refreshed = [];
    client.onToken((t) => refreshed.push(t));
    const { socket, seen } = watchSocketIo(client);
    try {
      await eventually(() => socket.connected && seen.ready.length === 1, 10_000, 'the connection');
      assert.equal(seen.errors.length, 1);
      assert.match(seen.errors[0], /^expired:/);
      assert.equal(refreshed.length, 1, 'exactly one refresh');
      assert.equal(client.currentAccessToken(), refreshed[0]);
    } finally {
      socket.disconnect();
    }
  });

  test('Socket.IO: logout ends the connection without a reconnection loop', async () => {
    const { client, email, password } = await fresh();
    let expiredCalls = 0;
    client.onSessionExpired(() => expiredCalls++);
    const { socket, seen } = watchSocketIo(client);
    await client.login(email, password);
    await eventually(() => seen.ready.length === 1, 10_000, 'ready');
    await client.logout();
    await eventually(() => seen.revoked === 1 && !socket.connected, 10_000, 'the disconnection');
    assert.equal(socket.active, false, 'not trying to reconnect');
    assert.equal(seen.connects, 1);
    assert.deepEqual(seen.errors, []);
    assert.equal(expiredCalls, 0, 'a logout is not an expired session');
  });
});
