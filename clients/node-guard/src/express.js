import { GuardError } from './errors.js';
import { requestToken } from './guard.js';

/**
 * Express middleware: the caller as `req.latchkey`, or an answer in Latchkey's error shape.
 *
 *     app.get('/orders', requireToken(guard, { scopes: ['orders:read'] }), handler)
 *
 * @param {import('./guard.js').Guard} guard
 * @param {{ scopes?: string[] }} [route]
 * @returns {(req: any, res: any, next: (err?: unknown) => void) => void}
 */
export function requireToken(guard, route = {}) {
  const scopes = route.scopes ?? [];
  return (req, res, next) => {
    guard.authorize(requestToken(req.headers), scopes).then(
      (identity) => {
        req.latchkey = identity;
        next();
      },
      (e) => {
        if (!(e instanceof GuardError)) return next(e);
        res.status(e.status).set(e.headers()).json(e.body());
      },
    );
  };
}
