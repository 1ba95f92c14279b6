import { LatchkeyError } from './errors.js';

export interface ApiKeyClientOptions {
  baseUrl: string;
  /** The API key (`lk_…`); exchanged at `/get-token`, never sent to other routes. */
  apiKey: string;
  fetch?: typeof fetch;
}

/**
 * For jobs and services: exchanges the API key for an auth token, sends it as
 * `x-authorization: Agent <token>`, and fetches a new one (once per request) on a 401.
 */
export class ApiKeyClient {
  readonly baseUrl: string;
  private apiKey: string;
  private readonly fetchImpl: typeof fetch;
  private token: string | null = null;
  private pending: Promise<string> | null = null;

  constructor(options: ApiKeyClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    const f = options.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => f(input, init);
  }

  /** Uses a new key (after a rotation); the next request exchanges it. */
  setApiKey(apiKey: string): void {
    this.apiKey = apiKey;
  }

  /** The current auth token, fetching one when there is none. */
  async getToken(): Promise<string> {
    return this.token ?? this.renew(null);
  }

  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = typeof input === 'string' && input.startsWith('/') ? this.baseUrl + input : input;
    const used = await this.getToken();
    const res = await this.send(target, init, used);
    if (res.status !== 401) return res;
    return this.send(target, init, await this.renew(used));
  }

  /** One `/get-token` call for any number of callers that saw `used` refused. */
  private renew(used: string | null): Promise<string> {
    if (this.token && this.token !== used) return Promise.resolve(this.token);
    if (!this.pending) {
      this.pending = (async () => {
        const res = await this.fetchImpl(`${this.baseUrl}/get-token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ api_key: this.apiKey }),
        });
        if (!res.ok) {
          this.token = null;
          throw await LatchkeyError.fromResponse(res);
        }
        const body = (await res.json()) as { data: { auth_token: string } };
        this.token = body.data.auth_token;
        return this.token;
      })().finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  private send(target: string | URL, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('x-authorization', `Agent ${token}`);
    return this.fetchImpl(target, { ...init, headers });
  }
}
