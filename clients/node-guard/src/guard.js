import { createRemoteJWKSet, errors as jose, jwtVerify } from 'jose';

import { GuardError, expired, insufficientScope, invalidToken, missingToken, revoked, unavailable } from './errors.js';
import { Introspector } from './introspect.js';

/**
 * @typedef {object} GuardOptions
 * @property {string} issuer Latchkey's `LATCHKEY_ISSUER`, e.g. `https://auth.example.com`.
 * @property {string} [audience] Latchkey's `LATCHKEY_AUDIENCE` (the issuer unless set).
 * @property {string} [jwksUrl] Defaults to `<issuer>/.well-known/jwks.json`.
 * @property {string} [latchkeyUrl] Where to reach Latchkey for introspection (the issuer).
 * @property {number} [refetchIntervalMs] Least time between two JWKS fetches caused by unknown
 *   key ids (10 s), so a flood of forged `kid`s does not become a flood of requests to Latchkey.
 * @property {number} [clockToleranceSec] Leeway for `exp`, `iat` and `nbf` (5 s).
 * @property {import('./introspect.js').IntrospectionOptions} [introspection] Ask Latchkey about
 *   every token as well (after a cache of `cacheMs`): a logout or a revoked session is refused
 *   at once rather than when the token expires, and the scopes are the ones in force now.
 */

/**
 * The caller of a protected route.
 * @typedef {object} Identity
 * @property {string} userId
 * @property {string} sessionId
 * @property {string} orgId
 * @property {string} role
 * @property {string[]} scopes
 * @property {number} expiresAt The token's `exp`, in seconds since the epoch.
 * @property {string | null} keyId The API key of an API auth token (`lkt_…`); null for a person's
 *   session. Such a caller has no session and no role.
 * @property {Record<string, unknown>} claims Every claim, as verified (or as introspection said).
 */

/** API auth tokens (from `/get-token`) are opaque: only Latchkey can say what they are. */
const API_TOKEN_PREFIX = 'lkt_';

/** Verifies Latchkey access tokens. Share one per process: it caches the keys. */
export class Guard {
  /** @param {GuardOptions} options */
  constructor(options) {
    if (!options?.issuer) throw new TypeError('Guard: `issuer` is required');
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.audience = options.audience ?? this.issuer;
    this.latchkeyUrl = (options.latchkeyUrl ?? this.issuer).replace(/\/+$/, '');
    this.clockTolerance = options.clockToleranceSec ?? 5;
    const jwksUrl = new URL(options.jwksUrl ?? `${this.issuer}/.well-known/jwks.json`);
    // jose caches the set, fetches it again on an unknown kid, and never more often than the
    // cooldown; concurrent misses share one request.
    this.keys = createRemoteJWKSet(jwksUrl, {
      cooldownDuration: options.refetchIntervalMs ?? 10_000,
      timeoutDuration: 5_000,
    });
    this.introspector = options.introspection
      ? new Introspector(`${this.latchkeyUrl}/oauth2/introspect`, options.introspection)
      : null;
  }

  /**
   * Verifies `token` (and introspects it when configured) and returns its caller.
   * @param {string | null | undefined} token
   * @returns {Promise<Identity>}
   * @throws {GuardError}
   */
  async verify(token) {
    if (!token) throw missingToken();
    if (token.startsWith(API_TOKEN_PREFIX)) return this.verifyApiToken(token);
    const claims = await this.verifyOffline(token);
    /** @type {string[]} */
    let scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (this.introspector) {
      const info = await this.introspector.check(token);
      if (!info.active) throw revoked();
      // The scopes in force now: one taken from the user since the token was signed is gone.
      if (typeof info.scope === 'string') scopes = info.scope.split(' ').filter(Boolean);
    }
    return {
      userId: String(claims.sub),
      sessionId: String(claims.sid ?? ''),
      orgId: String(claims.org ?? ''),
      role: String(claims.role ?? ''),
      scopes,
      expiresAt: Number(claims.exp),
      keyId: null,
      claims,
    };
  }

  /**
   * An API auth token is asked about at Latchkey (it is not a JWT); without introspection the
   * guard cannot accept one.
   * @param {string} token
   * @returns {Promise<Identity>}
   */
  async verifyApiToken(token) {
    if (!this.introspector) throw invalidToken('an API auth token needs introspection (configure `introspection`)');
    const info = await this.introspector.check(token);
    if (!info.active) throw revoked();
    return {
      userId: String(info.sub ?? ''),
      sessionId: '',
      orgId: String(info.org ?? ''),
      role: '',
      scopes: typeof info.scope === 'string' ? info.scope.split(' ').filter(Boolean) : [],
      expiresAt: Number(info.exp ?? 0),
      keyId: String(info.client_id ?? ''),
      claims: info,
    };
  }

  /**
   * `verify`, then every scope in `scopes` must be held (403 `insufficient_scope` naming the
   * first one missing).
   * @param {string | null | undefined} token
   * @param {string[]} [scopes]
   */
  async authorize(token, scopes = []) {
    const identity = await this.verify(token);
    const missing = scopes.find((s) => !identity.scopes.includes(s));
    if (missing) throw insufficientScope(missing);
    return identity;
  }

  /** @param {string} token */
  async verifyOffline(token) {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        // Only what Latchkey signs: refuses `alg: none` and HMAC keyed with the public key.
        algorithms: ['EdDSA'],
        issuer: this.issuer,
        audience: this.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: this.clockTolerance,
      });
      return payload;
    } catch (e) {
      throw fromJose(e);
    }
  }
}

/**
 * The bearer token of an `Authorization` header value, or null.
 * @param {string | string[] | undefined} header
 */
export function bearerToken(header) {
  if (typeof header !== 'string') return null;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/**
 * The credential of a request: `Authorization: Bearer <token>`, or the API clients' form
 * `X-Authorization: Agent <auth token>`.
 * @param {Record<string, string | string[] | undefined>} headers Node's lower-cased headers.
 */
export function requestToken(headers) {
  const bearer = bearerToken(headers.authorization);
  if (bearer) return bearer;
  const agent = headers['x-authorization'];
  if (typeof agent !== 'string') return null;
  const match = /^\s*agent\s+(\S+)\s*$/i.exec(agent);
  return match ? match[1] : null;
}

/** @param {unknown} e */
function fromJose(e) {
  if (e instanceof GuardError) return e;
  if (e instanceof jose.JWTExpired) return expired();
  if (e instanceof jose.JWTClaimValidationFailed) {
    return invalidToken(e.claim === 'iss' || e.claim === 'aud' ? 'wrong issuer or audience' : `bad claim ${e.claim}`);
  }
  if (e instanceof jose.JWKSNoMatchingKey) return invalidToken('unknown signing key');
  if (e instanceof jose.JWSSignatureVerificationFailed) return invalidToken('bad signature');
  if (e instanceof jose.JOSEAlgNotAllowed) return invalidToken('wrong algorithm');
  if (e instanceof jose.JWKSTimeout || e instanceof jose.JWKSInvalid) return unavailable("Latchkey's keys");
  if (e instanceof jose.JOSEError) return invalidToken('malformed');
  // A fetch that failed (connection refused, bad status) while loading the keys.
  return unavailable("Latchkey's keys");
}
