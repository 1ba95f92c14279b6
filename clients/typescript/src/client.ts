import { ErrorBody, LatchkeyError, isInvalidToken } from './errors.js';
import { MemoryStorage, TokenStorage } from './storage.js';
import { SharedToken, TabCoordinator } from './tabs.js';
import {
  CodeSent,
  CodeSignInResult,
  MfaChallenge,
  MfaResult,
  SignInResult,
  StepAnswer,
  readStep,
  signedIn,
  unexpected,
} from './signin.js';

export interface LatchkeyClientOptions {
  /** The server's base URL, e.g. `https://auth.example.com`. */
  baseUrl: string;
  /** Where the refresh token is kept; defaults to memory (gone when the process ends). */
  storage?: TokenStorage;
  /** Refresh before a request when the access token expires within this many seconds (60). */
  refreshMargin?: number;
  /**
   * `body` (default): the refresh token comes in the JSON answer and is kept in `storage`.
   * `cookie`: the server keeps it in an HttpOnly cookie; page scripts never see it.
   */
  refreshTokenMode?: 'body' | 'cookie';
  /** Coordinate refreshes across browser tabs (default: when the Web Locks API exists). */
  crossTab?: boolean;
  /** Longest wait for the tabs' refresh lock before refreshing anyway (10 s). */
  lockTimeoutMs?: number;
  /** Storage key of the refresh token. */
  storageKey?: string;
  /** The fetch to use (defaults to the global one). */
  fetch?: typeof fetch;
}

/** The user as the server reports it with every token response. */
export interface LatchkeyUser {
  user_id: string;
  email: string;
  name?: string | null;
  phone?: string | null;
  role?: string;
  org_id?: string;
  scopes?: string[];
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  expires_at: string;
  refresh_token?: string | null;
  refresh_expires_at?: string | null;
  session_id: string;
  user: LatchkeyUser;
  api_key?: { id: string; key: string; prefix: string } & Record<string, unknown>;
  /** Send it back as `X-Device-Token` at the next sign-in: this device keeps its own failure budget. */
  device_token?: string | null;
}

export interface SignupInput {
  email: string;
  password: string;
  name?: string;
  phone?: string;
  referral_code?: string;
}

const REFRESH_PATH = '/api/v1/auth/refresh';

/**
 * Keeps a person signed in: attaches the access token to every request, refreshes it first when
 * it is missing or about to expire, refreshes once and retries once when the server refuses it,
 * and never runs two refreshes at once.
 */
export class LatchkeyClient {
  readonly baseUrl: string;
  private readonly storage: TokenStorage;
  private readonly marginMs: number;
  private readonly mode: 'body' | 'cookie';
  private readonly storageKey: string;
  private readonly fetchImpl: typeof fetch;
  private readonly tabs: TabCoordinator | null;

  private accessToken: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<string> | null = null;
  /** Set once a session existed; cleared when it ends, so `onSessionExpired` fires once. */
  private live = false;
  /**
   * The access token of the session that ended last, and why: a request that used it and is
   * refused after that ending gets the same error, not a second refresh or "not signed in".
   */
  private ended: { token: string; error: LatchkeyError } | null = null;
  private readonly expiredHandlers = new Set<() => void>();
  private readonly tokenHandlers = new Set<(token: string) => void>();

  constructor(options: LatchkeyClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.storage = options.storage ?? new MemoryStorage();
    this.marginMs = (options.refreshMargin ?? 60) * 1000;
    this.mode = options.refreshTokenMode ?? 'body';
    this.storageKey = options.storageKey ?? 'latchkey.refresh_token';
    const f = options.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => f(input, init);
    const crossTab = options.crossTab ?? TabCoordinator.available();
    this.tabs = crossTab
      ? new TabCoordinator(`latchkey:${this.baseUrl}:${this.storageKey}`, options.lockTimeoutMs ?? 10_000)
      : null;
    if (this.tabs) {
      // A token another tab got is as good as our own: adopt it if ours is older.
      this.tabs.onToken = (t) => {
        if (t.expiresAt > this.expiresAt) this.adoptAccess(t.accessToken, t.expiresAt);
      };
    }
  }

  /** Email and password: signed in, or a second factor to answer with `verifyMfa`. */
  async login(email: string, password: string): Promise<SignInResult> {
    const step = await this.step('/api/v1/auth/login', { email, password });
    if (step.kind === 'tokens') return signedIn(step.tokens);
    if (step.kind === 'mfa') {
      return { status: 'mfa_required', challenge: { kind: 'token', mfaToken: step.mfaToken ?? '' } };
    }
    throw unexpected();
  }

  /** Creates an account and signs in; the answer carries the default API key (shown once). */
  async signup(input: SignupInput): Promise<TokenResponse> {
    const step = await this.step('/api/v1/auth/signup', input);
    if (step.kind !== 'tokens') throw unexpected();
    return step.tokens;
  }

  /** Mails a one-time code and magic link; keep `login_id` for `loginWithCode`. */
  async sendLoginCode(email: string): Promise<CodeSent> {
    const res = await this.raw('/api/v1/auth/code', { email });
    if (!res.ok) throw await LatchkeyError.fromResponse(res);
    return (await res.json()) as CodeSent;
  }

  /** Signs in with the mailed code (or the magic link's `login_id` and `code`). */
  async loginWithCode(loginId: string, code: string): Promise<CodeSignInResult> {
    let step: StepAnswer;
    try {
      step = await this.step('/api/v1/auth/code/verify', { login_id: loginId, session_code: code });
    } catch (e) {
      if (e instanceof LatchkeyError && e.error === 'invalid_session_code') return { status: 'invalid_code' };
      throw e;
    }
    if (step.kind === 'tokens') return signedIn(step.tokens);
    if (step.kind === 'mfa') return { status: 'mfa_required', challenge: { kind: 'code', loginId, code } };
    throw unexpected();
  }

  /**
   * The second factor: a current TOTP code or an unused recovery code. A wrong one gives the
   * challenge back with the tries left; after the last the login starts over (it throws).
   */
  async verifyMfa(challenge: MfaChallenge, mfaCode: string): Promise<MfaResult> {
    const step =
      challenge.kind === 'token'
        ? await this.step('/api/v1/auth/mfa/verify', { mfa_token: challenge.mfaToken, mfa_code: mfaCode })
        : await this.step('/api/v1/auth/code/verify', {
            login_id: challenge.loginId,
            session_code: challenge.code,
            mfa_code: mfaCode,
          });
    if (step.kind === 'tokens') return signedIn(step.tokens);
    if (step.kind === 'wrong_mfa') return { status: 'invalid_code', challenge, attemptsLeft: step.attemptsLeft };
    throw unexpected();
  }

  /** Holds a session obtained elsewhere (a native sign-in, an exchange made by other code). */
  async adoptTokens(tokens: TokenResponse): Promise<void> {
    await this.adopt(tokens);
  }

  /** Mails a password reset link (the same answer for every valid address). */
  async forgotPassword(email: string): Promise<void> {
    const res = await this.raw('/api/v1/auth/password/forgot', { email });
    if (!res.ok) throw await LatchkeyError.fromResponse(res);
  }

  /** Sets a new password with the mailed link's `token`; every session ends, this one too. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const res = await this.raw('/api/v1/auth/password/reset', { token, new_password: newPassword });
    if (!res.ok) throw await LatchkeyError.fromResponse(res);
    this.live = false;
    await this.clear();
  }

  /** Changes the signed-in user's password. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const res = await this.fetch('/api/v1/auth/password/change', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: currentPassword, new_password: newPassword }),
    });
    if (!res.ok) throw await LatchkeyError.fromResponse(res);
  }

  /** Ends every session of the user on every device, this one too; answers how many ended. */
  async logoutEverywhere(): Promise<number> {
    const res = await this.fetch('/api/v1/auth/logout-all', { method: 'POST' });
    if (!res.ok) throw await LatchkeyError.fromResponse(res);
    const body = (await res.json()) as { sessions_revoked: number };
    this.live = false;
    await this.clear();
    return body.sessions_revoked;
  }

  /** Ends this session at the server (when reachable) and forgets every token here. */
  async logout(): Promise<void> {
    const token = this.accessToken;
    try {
      if (token) {
        await this.fetchImpl(
          this.url('/api/v1/auth/logout'),
          this.authInit({ method: 'POST', headers: { authorization: `Bearer ${token}` } }),
        );
      }
    } catch {
      // Offline: the local session ends anyway; the server's ends with its refresh token.
    } finally {
      this.live = false;
      await this.clear();
    }
  }

  /** Called once each time a session ends because the server refused its refresh token. */
  onSessionExpired(handler: () => void): () => void {
    this.expiredHandlers.add(handler);
    return () => this.expiredHandlers.delete(handler);
  }

  /** Called with every new access token (login, refresh, another tab's refresh). */
  onToken(handler: (token: string) => void): () => void {
    this.tokenHandlers.add(handler);
    return () => this.tokenHandlers.delete(handler);
  }

  /** The access token in memory, as is (possibly expired, or null). */
  currentAccessToken(): string | null {
    return this.accessToken;
  }

  /** A valid access token, refreshed first when missing or inside the refresh margin. */
  async getAccessToken(): Promise<string> {
    if (this.accessToken && this.expiresAt - this.marginMs > Date.now()) return this.accessToken;
    return this.refresh(this.accessToken);
  }

  /** Resolves with an access token as soon as there is a session (sockets wait on this). */
  async whenSignedIn(): Promise<string> {
    if (this.accessToken || (await this.hasStoredSession())) {
      try {
        return await this.getAccessToken();
      } catch (e) {
        if (!(e instanceof LatchkeyError) || e.status !== 401) throw e;
      }
    }
    return new Promise((resolve) => {
      const off = this.onToken((token) => {
        off();
        resolve(token);
      });
    });
  }

  /**
   * `fetch` with the access token attached. A 401, or a 403 whose error is `invalid_token`,
   * is answered by one refresh and one retry of the request; the retry's answer is returned
   * whatever it is. A body that is a stream cannot be sent twice: pass strings, blobs or forms.
   */
  async fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const target = typeof input === 'string' && input.startsWith('/') ? this.url(input) : input;
    const first = await this.getAccessToken();
    const res = await this.send(target, init, first);
    if (!(await this.rejectsToken(res))) return res;
    const next = await this.refresh(first);
    return this.send(target, init, next);
  }

  /**
   * A fresh access token after the server refused `used`. When another request already replaced
   * it, that token is returned without a refresh; concurrent callers share one refresh.
   */
  async refresh(used: string | null = this.accessToken): Promise<string> {
    // Someone else's refresh already replaced `used`: take its token, even inside the margin
    // (a margin longer than a token's life would otherwise refresh on every request).
    if (this.accessToken && this.accessToken !== used && this.expiresAt > Date.now()) {
      return this.accessToken;
    }
    if (used && this.ended?.token === used && !this.accessToken) throw this.ended.error;
    if (!this.refreshing) {
      this.refreshing = this.refreshOnce(used).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** True when the answer says the access token was refused (and not a missing permission). */
  async rejectsToken(res: Response): Promise<boolean> {
    if (res.status === 401) return true;
    if (res.status !== 403) return false;
    const challenge = res.headers.get('www-authenticate') ?? '';
    if (/error="?invalid_token/.test(challenge)) return true;
    try {
      return isInvalidToken((await res.clone().json()) as ErrorBody);
    } catch {
      return false;
    }
  }

  private async refreshOnce(used: string | null): Promise<string> {
    if (!this.tabs) return this.refreshLocked(used, null);
    const before = this.mode === 'body' ? await this.storage.get(this.storageKey) : null;
    return this.tabs.withLock(() => this.refreshLocked(used, before));
  }

  private async refreshLocked(used: string | null, before: string | null): Promise<string> {
    const stored = this.mode === 'body' ? await this.storage.get(this.storageKey) : null;
    // Another tab may have refreshed while this one waited for the lock: storage then holds its
    // new refresh token (re-read above), and its access token comes over the channel.
    if (this.tabs) {
      const fresh = (t: SharedToken) =>
        t.accessToken !== used && t.expiresAt - this.marginMs > Date.now();
      const changed = this.mode === 'body' ? stored !== before : false;
      const shared = await this.tabs.awaitToken(fresh, changed ? 1000 : 0);
      if (shared) {
        this.adoptAccess(shared.accessToken, shared.expiresAt);
        return shared.accessToken;
      }
    }
    if (this.mode === 'body' && !stored) {
      return this.endSession('not_signed_in', 'no session: sign in first');
    }
    const res = await this.refreshRequest(stored);
    if (res.ok) {
      const body = (await res.json()) as TokenResponse;
      await this.adopt(body);
      this.tabs?.publish({ accessToken: body.access_token, expiresAt: this.expiresAt });
      return body.access_token;
    }
    const error = await LatchkeyError.fromResponse(res);
    // The server refused the session itself: end it here too. Anything else (5xx, 429, a proxy
    // in trouble) keeps the session, and the next request tries again.
    if ([400, 401, 403].includes(res.status) || isInvalidToken({ error: error.error })) {
      return this.endSession('session_expired', error.message);
    }
    throw error;
  }

  /** Network failures are retried twice with backoff inside the one refresh, then reported. */
  private async refreshRequest(stored: string | null): Promise<Response> {
    const init = this.authInit({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(stored ? { refresh_token: stored } : {}),
    });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchImpl(this.url(REFRESH_PATH), init);
      } catch (e) {
        if (attempt >= 2) {
          throw new LatchkeyError(0, 'network_error', `could not reach the server: ${String(e)}`);
        }
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  private async endSession(error: string, message: string): Promise<never> {
    const wasLive = this.live;
    const failure = new LatchkeyError(401, error, message);
    if (this.accessToken) this.ended = { token: this.accessToken, error: failure };
    this.live = false;
    await this.clear();
    if (wasLive) this.expiredHandlers.forEach((h) => h());
    throw failure;
  }

  /**
   * Posts a sign-in step with this device's token (kept beside the refresh token: the next
   * sign-in from here then has a failure budget of its own), and adopts the tokens answered.
   */
  private async step(path: string, body: unknown): Promise<StepAnswer> {
    const device = this.mode === 'body' ? await this.storage.get(this.deviceKey()) : null;
    const answer = await readStep(await this.raw(path, body, device ? { 'x-device-token': device } : {}));
    if (answer.kind === 'tokens') await this.adopt(answer.tokens);
    return answer;
  }

  private deviceKey(): string {
    return `${this.storageKey}.device`;
  }

  /** In cookie mode every auth call asks for the cookie and lets the browser send it. */
  private authInit(init: RequestInit & { headers: Record<string, string> }): RequestInit {
    if (this.mode !== 'cookie') return init;
    return {
      ...init,
      headers: { ...init.headers, 'x-refresh-token-mode': 'cookie' },
      credentials: 'include',
    };
  }

  private async raw(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.fetchImpl(
        this.url(path),
        this.authInit({
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        }),
      );
    } catch (e) {
      throw new LatchkeyError(0, 'network_error', `could not reach the server: ${String(e)}`);
    }
  }

  private async adopt(tokens: TokenResponse): Promise<void> {
    // expires_in, not expires_at: the device's clock may be wrong, the duration is not.
    this.live = true;
    if (this.mode === 'body' && tokens.refresh_token) {
      await this.storage.set(this.storageKey, tokens.refresh_token);
    }
    if (this.mode === 'body' && tokens.device_token) {
      await this.storage.set(this.deviceKey(), tokens.device_token);
    }
    this.adoptAccess(tokens.access_token, Date.now() + tokens.expires_in * 1000);
  }

  private adoptAccess(token: string, expiresAt: number): void {
    this.live = true;
    this.accessToken = token;
    this.expiresAt = expiresAt;
    this.tokenHandlers.forEach((h) => h(token));
  }

  private async clear(): Promise<void> {
    this.accessToken = null;
    this.expiresAt = 0;
    if (this.mode === 'body') await this.storage.remove(this.storageKey);
  }

  private async hasStoredSession(): Promise<boolean> {
    return this.mode === 'cookie' || !!(await this.storage.get(this.storageKey));
  }

  private async send(target: string | URL | Request, init: RequestInit, token: string): Promise<Response> {
    const request = target instanceof Request ? target.clone() : target;
    const headers = new Headers(init.headers ?? (target instanceof Request ? target.headers : undefined));
    headers.set('authorization', `Bearer ${token}`);
    return this.fetchImpl(request, { ...init, headers });
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}`;
  }
}
