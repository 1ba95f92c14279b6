import type { LatchkeyClient } from './client.js';

/** The parts of an axios instance the adapter uses (so axios itself is not a dependency). */
export interface AxiosLike {
  interceptors: {
    request: { use(onFulfilled: (config: any) => any): number };
    response: { use(onFulfilled: (res: any) => any, onRejected: (error: any) => any): number };
  };
  request(config: any): Promise<any>;
}

const RETRIED = Symbol.for('latchkey.retried');
const USED = Symbol.for('latchkey.token');

/**
 * Adds the client's rules to an axios instance: the access token on every request (refreshed
 * first when needed), and one refresh + one retry on a 401 or a 403 `invalid_token`.
 * Point the instance at your API; the client's refresh call never goes through it.
 */
export function attachAxios(client: LatchkeyClient, axios: AxiosLike): void {
  axios.interceptors.request.use(async (config) => {
    const token = await client.getAccessToken();
    config[USED] = token;
    setHeader(config, `Bearer ${token}`);
    return config;
  });
  axios.interceptors.response.use(
    (res) => res,
    async (error) => {
      const config = error?.config;
      const res = error?.response;
      if (!config || !res || config[RETRIED] || !refusesToken(res.status, res.data, res.headers)) {
        throw error;
      }
      const token = await client.refresh(config[USED] ?? null);
      config[RETRIED] = true;
      config[USED] = token;
      setHeader(config, `Bearer ${token}`);
      return axios.request(config);
    },
  );
}

function setHeader(config: any, value: string): void {
  config.headers = config.headers ?? {};
  if (typeof config.headers.set === 'function') config.headers.set('Authorization', value);
  else config.headers.Authorization = value;
}

function refusesToken(status: number, data: any, headers: any): boolean {
  if (status === 401) return true;
  if (status !== 403) return false;
  const challenge = String(
    (typeof headers?.get === 'function' ? headers.get('www-authenticate') : headers?.['www-authenticate']) ?? '',
  );
  let body = data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = null;
    }
  }
  return /error="?invalid_token/.test(challenge) || body?.error === 'invalid_token';
}
