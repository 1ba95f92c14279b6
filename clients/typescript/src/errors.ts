/** Error shape of every Latchkey answer that is not a success. */
export interface ErrorBody {
  status?: string;
  code?: number;
  error?: string;
  message?: string;
  data?: unknown;
}

/**
 * What the SDK throws. `error` is the server's snake_case code (`invalid_credentials`, …) or
 * one of the SDK's own: `not_signed_in` (no session to use), `session_expired` (the server
 * refused the refresh token), `network_error` (the server could not be reached).
 */
export class LatchkeyError extends Error {
  readonly status: number;
  readonly error: string;
  readonly data: unknown;

  constructor(status: number, error: string, message: string, data: unknown = {}) {
    super(message);
    this.name = 'LatchkeyError';
    this.status = status;
    this.error = error;
    this.data = data;
  }

  static async fromResponse(res: Response): Promise<LatchkeyError> {
    let body: ErrorBody = {};
    try {
      body = (await res.json()) as ErrorBody;
    } catch {
      // Not the documented shape (a proxy's page, say): keep the status.
    }
    return new LatchkeyError(
      res.status,
      body.error ?? `http_${res.status}`,
      body.message ?? res.statusText ?? 'request failed',
      body.data ?? {},
    );
  }
}

/** True when `body` says the credential itself is bad or expired (not a missing permission). */
export function isInvalidToken(body: ErrorBody | null): boolean {
  return body?.error === 'invalid_token' || body?.error === 'invalid_grant';
}
