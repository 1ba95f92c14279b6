import { GuardError } from './errors.js';
import { requestToken } from './guard.js';

/**
 * A Fastify `preHandler`: the caller as `request.latchkey`, or an answer in Latchkey's error shape.
 *
 *     app.get('/orders', { preHandler: latchkeyPreHandler(guard, { scopes: ['orders:read'] }) }, handler)
 *
 * @param {import('./guard.js').Guard} guard
 * @param {{ scopes?: string[] }} [route]
 * @returns {(request: any, reply: any) => Promise<void>}
 */
export function latchkeyPreHandler(guard, route = {}) {
  const scopes = route.scopes ?? [];
  return async (request, reply) => {
    try {
      request.latchkey = await guard.authorize(requestToken(request.headers), scopes);
    } catch (e) {
      if (!(e instanceof GuardError)) throw e;
      return reply.code(e.status).headers(e.headers()).send(e.body());
    }
  };
}
