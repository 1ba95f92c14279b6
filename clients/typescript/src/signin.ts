// The answers of the sign-in steps, as values: a second factor asked for, or a wrong code, is
// an expected branch of signing in, not an exception.
import { LatchkeyError } from './errors.js';
import type { TokenResponse } from './client.js';

/** A login waiting for its second factor; pass it to `verifyMfa`. */
export type MfaChallenge =
  /** After a password or a provider: the `mfa_token` for `POST /api/v1/auth/mfa/verify`. */
  | { kind: 'token'; mfaToken: string }
  /** After a mailed code: the same login and code are sent again with the second factor. */
  | { kind: 'code'; loginId: string; code: string };

/** A session is open, and the client holds it: the server's token answer. */
export type SignedIn = TokenResponse & { status: 'signed_in' };

/** The account asks for a second factor. */
export interface MfaRequired {
  status: 'mfa_required';
  challenge: MfaChallenge;
}

/** The mailed code is wrong, expired or used up: a login allows 5 tries, then mail a new one. */
export interface InvalidCode {
  status: 'invalid_code';
}

/** The second factor was wrong; the same challenge takes `attemptsLeft` more. */
export interface InvalidMfaCode {
  status: 'invalid_code';
  challenge: MfaChallenge;
  attemptsLeft: number;
}

export type SignInResult = SignedIn | MfaRequired;
export type CodeSignInResult = SignedIn | MfaRequired | InvalidCode;
export type MfaResult = SignedIn | InvalidMfaCode;

/** `202` of `POST /api/v1/auth/code`: the login to verify. */
export interface CodeSent {
  login_id: string;
  /** Seconds the code stays valid. */
  expires_in: number;
}

/** What one sign-in request answered. */
export type StepAnswer =
  | { kind: 'tokens'; tokens: TokenResponse }
  | { kind: 'mfa'; mfaToken: string | null }
  | { kind: 'wrong_mfa'; attemptsLeft: number };

/** Reads a sign-in step's answer; any refusal but a wrong second factor with tries left throws. */
export async function readStep(res: Response): Promise<StepAnswer> {
  if (res.ok) {
    const body = (await res.json()) as TokenResponse & { status?: string; mfa_token?: string };
    if (res.status === 200 && body.status === 'mfa_required') {
      return { kind: 'mfa', mfaToken: body.mfa_token ?? null };
    }
    return { kind: 'tokens', tokens: body };
  }
  const error = await LatchkeyError.fromResponse(res);
  const left = (error.data as { attempts_left?: unknown } | null)?.attempts_left;
  if (error.error === 'invalid_mfa_code' && typeof left === 'number') {
    return { kind: 'wrong_mfa', attemptsLeft: left };
  }
  throw error;
}

export function signedIn(tokens: TokenResponse): SignedIn {
  return { ...tokens, status: 'signed_in' };
}

/** An answer that does not fit the step asked (a server of another version?). */
export function unexpected(): LatchkeyError {
  return new LatchkeyError(0, 'unexpected_answer', 'the server answered a step that was not asked');
}
