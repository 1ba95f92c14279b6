// The small product API the tests protect, once with Express and once with Fastify.
import express from 'express';
import Fastify from 'fastify';

import { latchkeyPreHandler, requireToken } from '../../src/index.js';

/** @param {import('node:http').Server} server */
function address(server) {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return `http://127.0.0.1:${port}`;
}

/** `GET /orders` needs `orders:read`, `POST /orders` needs `orders:write`. */
export async function expressApi(guard) {
  const app = express();
  app.get('/orders', requireToken(guard, { scopes: ['orders:read'] }), (req, res) => {
    res.json({ orders: [], user: req.latchkey.userId, org: req.latchkey.orgId, key: req.latchkey.keyId });
  });
  app.post('/orders', requireToken(guard, { scopes: ['orders:write'] }), (_req, res) => {
    res.status(201).json({ created: true });
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: address(server),
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

/** The same API on Fastify. */
export async function fastifyApi(guard) {
  const app = Fastify();
  app.get('/orders', { preHandler: latchkeyPreHandler(guard, { scopes: ['orders:read'] }) }, async (request) => ({
    orders: [],
    user: request.latchkey.userId,
    org: request.latchkey.orgId,
    key: request.latchkey.keyId,
  }));
  app.post('/orders', { preHandler: latchkeyPreHandler(guard, { scopes: ['orders:write'] }) }, async (_req, reply) =>
    reply.code(201).send({ created: true }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { base: address(app.server), close: () => app.close() };
}

export const frameworks = { express: expressApi, fastify: fastifyApi };

/**
 * `fetch` with a bearer token (or an API auth token in `X-Authorization: Agent …` when `agent`);
 * status, challenge and JSON body.
 */
export async function get(url, token, method = 'GET', { agent = false } = {}) {
  const headers = !token ? {} : agent ? { 'x-authorization': `Agent ${token}` } : { authorization: `Bearer ${token}` };
  const res = await fetch(url, { method, headers });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json() };
}
