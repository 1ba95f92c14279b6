import { unavailable } from './errors.js';

/**
 * @typedef {object} IntrospectionOptions
 * @property {string} clientId The id of an API key whose owner holds `latchkey:introspect`.
 * @property {string} clientSecret That API key (`lk_…`).
 * @property {number} [cacheMs] How long an answer is reused (5 s): a revocation is seen within
 *   this time. 0 asks on every request.
 * @property {number} [maxEntries] Answers kept at most (10,000); the oldest go first.
 * @property {typeof fetch} [fetch]
 */

/**
 * @typedef {object} Introspection RFC 7662's answer (the fields the guard reads).
 * @property {boolean} active
 * @property {string} [scope]
 * @property {string} [sub]
 * @property {string} [org]
 * @property {number} [exp]
 * @property {string} [client_id] The key id, for an API auth token.
 */

/** Asks `POST /oauth2/introspect`, with a short cache per token. */
export class Introspector {
  /**
   * @param {string} url
   * @param {IntrospectionOptions} options
   */
  constructor(url, options) {
    if (!options.clientId || !options.clientSecret) {
      throw new TypeError('introspection needs `clientId` and `clientSecret`');
    }
    this.url = url;
    this.cacheMs = options.cacheMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    // RFC 6749 §2.3.1: each part form-encoded before joining.
    const enc = (/** @type {string} */ s) => encodeURIComponent(s).replace(/%20/g, '+');
    this.authorization = `Basic ${btoa(`${enc(options.clientId)}:${enc(options.clientSecret)}`)}`;
    /** @type {Map<string, { at: number, answer: Promise<Introspection> }>} */
    this.cache = new Map();
  }

  /**
   * @param {string} token
   * @returns {Promise<Introspection>}
   */
  async check(token) {
    const now = Date.now();
    const hit = this.cache.get(token);
    if (hit && now - hit.at < this.cacheMs) return hit.answer;
    // Concurrent requests with one token share one question.
    const answer = this.ask(token);
    if (this.cacheMs > 0) {
      this.cache.delete(token);
      this.cache.set(token, { at: now, answer });
      while (this.cache.size > this.maxEntries) {
        const oldest = this.cache.keys().next().value;
        if (oldest === undefined) break;
        this.cache.delete(oldest);
      }
      // A failure is not an answer: the next request asks again.
      answer.catch(() => this.cache.get(token)?.answer === answer && this.cache.delete(token));
    }
    return answer;
  }

  /** @param {string} token */
  async ask(token) {
    let res;
    try {
      res = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(5_000),
      });
    } catch {
      throw unavailable('Latchkey');
    }
    // Anything but an answer (a refused client, 503, a proxy's page) fails closed: never active.
    if (res.status !== 200) {
      await res.body?.cancel();
      throw unavailable('Latchkey');
    }
    /** @type {Introspection} */
    let body;
    try {
      body = await res.json();
    } catch {
      throw unavailable('Latchkey');
    }
    return body?.active === true ? body : { active: false };
  }
}
