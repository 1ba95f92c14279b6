export { Guard, bearerToken, requestToken } from './guard.js';
export { GuardError } from './errors.js';
export { Introspector } from './introspect.js';
export { requireToken } from './express.js';
export { latchkeyPreHandler } from './fastify.js';
