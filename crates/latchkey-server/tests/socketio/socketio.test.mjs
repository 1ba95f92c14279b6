// Socket.IO against a running Latchkey (SIO_BASE), with the real socket.io-client.
// Started by the Rust test `websocket::socket_io_client_...`, which runs the server with
// 10 s access tokens on the system clock: expiry here is real, and awaited through events.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const BASE = process.env.SIO_BASE;
const PASSWORD = "correct horse battery staple";
let n = 0;

async function post(path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(BASE + path, { method: "POST", headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function signup() {
  const email = `sio${process.pid}_${n++}@example.com`;
  const r = await post("/api/v1/auth/signup", { email, password: PASSWORD });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

function connect(token, opts = {}) {
  return io(BASE, { auth: token === undefined ? undefined : { token }, reconnection: false, forceNew: true, ...opts });
}

// The next `event` on `emitter`, or a failure after `ms`.
function next(emitter, event, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

async function connected(token) {
  const socket = connect(token);
  const ready = await next(socket, "ready");
  return { socket, ready };
}

describe("Socket.IO", { concurrency: true }, () => {
  test("a valid token connects; garbage and no token get connect_error naming invalid / unauthorized", async () => {
    const grant = await signup();
    const { socket, ready } = await connected(grant.access_token);
    assert.equal(ready.user_id, grant.user.user_id);
    assert.equal(ready.session_id, grant.session_id);
    socket.close();

    const garbage = connect("garbage");
    const e1 = await next(garbage, "connect_error");
    assert.match(e1.message, /invalid/);
    garbage.close();

    const none = connect(undefined);
    const e2 = await next(none, "connect_error");
    assert.match(e2.message, /unauthorized/);
    none.close();

    const refresh = connect(grant.refresh_token);
    const e3 = await next(refresh, "connect_error");
    assert.match(e3.message, /invalid/);
    refresh.close();
  });

  test("join_room answers joined_room; a malformed room is refused", async () => {
    const grant = await signup();
    const { socket } = await connected(grant.access_token);
    socket.emit("join_room", { room_id: "consultation-42" });
    assert.deepEqual(await next(socket, "joined_room"), { room_id: "consultation-42" });
    socket.emit("join_room", { room_id: "" });
    const refused = await next(socket, "room_error");
    assert.equal(refused.error, "invalid_request");
    socket.close();
  });

  test("a socket is in at most 100 rooms; leave_room frees one; room ids are plain", async () => {
    const grant = await signup();
    const { socket } = await connected(grant.access_token);
    for (let i = 0; i < 100; i++) {
      socket.emit("join_room", { room_id: `room-${i}` });
      assert.deepEqual(await next(socket, "joined_room"), { room_id: `room-${i}` });
    }
    // Joining a room it is already in costs nothing.
    socket.emit("join_room", { room_id: "room-7" });
    assert.deepEqual(await next(socket, "joined_room"), { room_id: "room-7" });
    socket.emit("join_room", { room_id: "room-100" });
    const full = await next(socket, "room_error");
    assert.equal(full.error, "too_many_rooms");
    assert.equal(full.max_rooms, 100);
    assert.equal(full.room_id, "room-100");
    socket.emit("leave_room", { room_id: "room-0" });
    assert.deepEqual(await next(socket, "left_room"), { room_id: "room-0" });
    socket.emit("join_room", { room_id: "room-100" });
    assert.deepEqual(await next(socket, "joined_room"), { room_id: "room-100" });
    for (const room_id of ["a b", "line\nbreak", "caf\u00e9", "x".repeat(129), "<script>"]) {
      socket.emit("join_room", { room_id });
      const refused = await next(socket, "room_error");
      assert.equal(refused.error, "invalid_request", room_id);
    }
    // Still connected and answering.
    socket.emit("join_room", { room_id: "room-0" });
    assert.equal((await next(socket, "room_error")).error, "too_many_rooms");
    socket.close();
  });

  test("logout disconnects the session's live socket at once", async () => {
    const grant = await signup();
    const { socket } = await connected(grant.access_token);
    const revoked = next(socket, "session_revoked");
    const gone = next(socket, "disconnect");
    const r = await post("/api/v1/auth/logout", null, grant.access_token);
    assert.equal(r.status, 204);
    const started = Date.now();
    await revoked;
    await gone;
    console.log(`logout reached the Socket.IO client in ${Date.now() - started} ms`);
    // A reconnect with the revoked session's token is refused.
    const again = connect(grant.access_token);
    assert.match((await next(again, "connect_error")).message, /invalid/);
    again.close();
  });

  test("expiry: unrenewed gets token_expired and is disconnected, renewed stays; expired token → connect_error expired → refresh → reconnect", async () => {
    const grant = await signup();
    const renewed = (await connected(grant.access_token)).socket;
    const unrenewed = (await connected(grant.access_token)).socket;

    await next(renewed, "token_expiring");
    const fresh = await post("/api/v1/auth/refresh", { refresh_token: grant.refresh_token });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    renewed.emit("auth", { token: fresh.body.access_token });
    const ok = await next(renewed, "auth_ok");
    assert.equal(ok.expires_at, fresh.body.expires_at);

    const expired = next(unrenewed, "token_expired");
    const gone = next(unrenewed, "disconnect");
    await expired;
    await gone;

    // Past the first token's expiry the renewed socket is live.
    renewed.emit("join_room", { room_id: "still-here" });
    assert.deepEqual(await next(renewed, "joined_room"), { room_id: "still-here" });
    assert.equal(renewed.connected, true);
    renewed.close();

    // The expired token: connect_error says expired, the client refreshes and reconnects.
    const stale = connect(grant.access_token);
    assert.match((await next(stale, "connect_error")).message, /expired/);
    stale.close();
    const newer = await post("/api/v1/auth/refresh", { refresh_token: fresh.body.refresh_token });
    assert.equal(newer.status, 200, JSON.stringify(newer.body));
    const { socket, ready } = await connected(newer.body.access_token);
    assert.equal(ready.session_id, grant.session_id);
    socket.close();
  });

  test("websocket transport only works too", async () => {
    const grant = await signup();
    const socket = connect(grant.access_token, { transports: ["websocket"] });
    const ready = await next(socket, "ready");
    assert.equal(ready.user_id, grant.user.user_id);
    socket.close();
  });
});
