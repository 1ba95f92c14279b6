// The example service's Socket.IO room (examples/video-consultation), driven by its Rust test
// with EXAMPLE_BASE and two tokens: one with video:join, one without.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const BASE = process.env.EXAMPLE_BASE;

function next(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (v) => { clearTimeout(timer); resolve(v); });
  });
}

function connect(auth) {
  return io(BASE, { auth, reconnection: false, forceNew: true });
}

test("the consultation room: connect with a token, join with video:join, refusals named", async () => {
  const garbage = connect({ token: "garbage" });
  assert.match((await next(garbage, "connect_error")).message, /invalid/);
  garbage.close();
  const none = connect(undefined);
  assert.match((await next(none, "connect_error")).message, /unauthorized/);
  none.close();

  const doctor = connect({ token: process.env.EXAMPLE_TOKEN });
  await next(doctor, "connect");
  doctor.emit("join_room", { room_id: "42" });
  assert.deepEqual(await next(doctor, "joined_room"), { room_id: "42" });
  doctor.close();

  const outsider = connect({ token: process.env.EXAMPLE_TOKEN_WITHOUT_SCOPE });
  await next(outsider, "connect");
  outsider.emit("join_room", { room_id: "42" });
  assert.equal((await next(outsider, "room_error")).error, "insufficient_scope");
  outsider.close();
});
