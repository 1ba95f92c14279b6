// Events a client emits as soon as it creates its socket, or on `connect`, before the server's
// `ready`: each must be answered. Started by the Rust test
// `socketio::join_room_emitted_in_the_same_tick_as_the_connection_is_always_answered`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const BASE = process.env.SIO_BASE;
const SOCKETS = 1000;
// Sockets open at once: enough to race, few enough for a shared test machine.
const AT_ONCE = Number(process.env.SIO_AT_ONCE ?? 100);

async function signup() {
  const email = `tick${process.pid}@example.com`;
  const r = await fetch(BASE + "/api/v1/auth/signup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery staple" }),
  });
  assert.equal(r.status, 201);
  return r.json();
}

// Whether `socket` answers `joined_room {room_id}` within `ms`.
function joined(socket, room_id, ms = 10000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.on("joined_room", (v) => {
      if (v.room_id === room_id) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
}

test(`join_room emitted in the same tick as the connection is answered, ${SOCKETS} times`, async () => {
  const grant = await signup();
  let unanswered = 0;
  for (let start = 0; start < SOCKETS; start += AT_ONCE) {
    const batch = [];
    for (let i = start; i < Math.min(start + AT_ONCE, SOCKETS); i++) {
      const socket = io(BASE, { auth: { token: grant.access_token }, reconnection: false, forceNew: true });
      const room_id = `tick-${i}`;
      const answer = joined(socket, room_id);
      // Half as the README's example does (right after creating the socket), half on
      // `connect` (as a client that waits for the connection does); neither waits for `ready`.
      if (i % 2 === 0) socket.emit("join_room", { room_id });
      else socket.on("connect", () => socket.emit("join_room", { room_id }));
      batch.push(answer.then((ok) => { socket.close(); return ok; }));
    }
    unanswered += (await Promise.all(batch)).filter((ok) => !ok).length;
    // One lost answer is the failure; the remaining batches would only take longer to say so.
    if (unanswered > 0) break;
  }
  assert.equal(unanswered, 0, `${unanswered} join_room got no joined_room`);
});
