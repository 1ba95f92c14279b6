/**
 * Why a request was refused, answered in Latchkey's error shape:
 * `{"status":"failed","code":401,"error":"invalid_token","message":"…","data":{}}`.
 */
export class GuardError extends Error {
  /**
   * @param {number} status HTTP status: 401, 403 or 503.
   * @param {string} error Latchkey's code: `missing_token`, `invalid_token`, `insufficient_scope`,
   *   `service_unavailable`.
   * @param {string} message For people; never a token or a secret.
   * @param {{ scope?: string }} [extra]
   */
  constructor(status, error, message, extra = {}) {
    super(message);
    this.name = 'GuardError';
    this.status = status;
    this.error = error;
    this.scope = extra.scope;
  }

  /** The JSON body, as Latchkey answers. */
  body() {
    return { status: 'failed', code: this.status, error: this.error, message: this.message, data: {} };
  }

  /**
   * The headers to send with the body: a `WWW-Authenticate` challenge on 401 and 403 (RFC 6750:
   * without `error` when no credential was sent), `Retry-After` on 503.
   * @returns {Record<string, string>}
   */
  headers() {
    if (this.status === 503) return { 'retry-after': '1' };
    if (this.error === 'missing_token') return { 'www-authenticate': 'Bearer realm="api"' };
    const scope = this.scope ? `, scope="${this.scope}"` : '';
    return { 'www-authenticate': `Bearer realm="api", error="${this.error}"${scope}` };
  }
}

export const missingToken = () => new GuardError(401, 'missing_token', 'an access token is required');
/** @param {string} why */
export const invalidToken = (why) => new GuardError(401, 'invalid_token', `the token is invalid: ${why}`);
export const expired = () => new GuardError(401, 'invalid_token', 'the token has expired');
export const revoked = () => new GuardError(401, 'invalid_token', 'the session has ended');
/** @param {string} scope */
export const insufficientScope = (scope) =>
  new GuardError(403, 'insufficient_scope', `the token lacks the scope ${scope}`, { scope });
/** @param {string} what */
export const unavailable = (what) => new GuardError(503, 'service_unavailable', `${what} cannot be reached now`);
