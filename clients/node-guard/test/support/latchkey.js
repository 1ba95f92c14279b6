// A real Latchkey server for the guard's tests, and the accounts they need.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PASSWORD = 'correct horse battery staple';

/** The server binary: the one cargo built for the Rust test that runs us, or the debug build. */
function serverBinary() {
  return process.env.LATCHKEY_TEST_SERVER_BIN ?? path.resolve(here, '../../../../target/debug/latchkey');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `latchkey serve` over SQLite in a fresh directory, with the scopes `orders:read` (every
 * new user's) and `orders:write`, and waits until it is healthy.
 */
export async function startServer(extraEnv = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-guard-'));
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LATCHKEY_') && k !== 'RUST_LOG')),
    LATCHKEY_DATA_DIR: dir,
    LATCHKEY_ARGON2_MEMORY_KIB: '4096',
    LATCHKEY_ARGON2_ITERATIONS: '1',
    LATCHKEY_LOG_LEVEL: 'warn',
    LATCHKEY_SCOPES: 'orders:read orders:write',
    LATCHKEY_DEFAULT_SCOPES: 'orders:read',
    ...extraEnv,
  };
  const child = spawn(serverBinary(), ['serve'], {
    env: { ...env, LATCHKEY_BIND: `127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`latchkey exited: ${stderr}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`latchkey did not become healthy: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const meta = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
  return {
    base,
    /** The `iss` of its tokens. */
    issuer: /** @type {string} */ (meta.issuer),
    /** `latchkey <args>` on this server's database. */
    cli(/** @type {string[]} */ ...args) {
      const out = spawnSync(serverBinary(), args, { env, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`latchkey ${args.join(' ')}: ${out.stdout}${out.stderr}`);
      return out.stdout;
    },
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * @param {string} base
 * @param {string} method
 * @param {string} route
 * @param {{ body?: unknown, token?: string }} [opts]
 */
export async function call(base, method, route, { body, token } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
/** A fresh account; the sign-up answer (tokens, user, default API key) and its email. */
export async function signup(base, extra = {}) {
  const email = `guard${process.pid}-${Date.now()}-${n++}@example.com`;
  const r = await call(base, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, ...extra } });
  if (r.status !== 201) throw new Error(`signup: ${r.status} ${JSON.stringify(r.body)}`);
  return { email, ...r.body };
}

/** A new session of an existing account: its token response. */
export async function login(base, email) {
  const r = await call(base, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  if (r.status !== 200) throw new Error(`login: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * An organization as a product runs it: its founder, an operator (from the command line, in
 * another organization), and the product's resource server, a member whose sign-up API key may
 * introspect (the operator gave it `latchkey:introspect`). `member()` signs up another member.
 */
export async function organization(server) {
  const founder = await signup(server.base);
  const ops = await signup(server.base);
  server.cli('users', 'operator', ops.email);
  const org = await call(server.base, 'GET', '/api/v1/org', { token: founder.access_token });
  const referral_code = org.body.referral_code;
  const rs = await signup(server.base, { referral_code });
  const grant = await call(server.base, 'PUT', `/api/v1/admin/users/${rs.user.user_id}/scopes`, {
    token: ops.access_token,
    body: { scopes: ['latchkey:introspect'] },
  });
  if (grant.status !== 200) throw new Error(`grant latchkey:introspect: ${JSON.stringify(grant.body)}`);
  return {
    founder,
    operatorToken: ops.access_token,
    introspection: { clientId: rs.api_key.id, clientSecret: rs.api_key.key },
    member: () => signup(server.base, { referral_code }),
  };
}

/** A proxy that counts the requests it passes on, by path. */
export async function countingProxy(target) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  const server = http.createServer((req, res) => {
    const key = (req.url ?? '/').split('?')[0];
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const upstream = new URL(req.url ?? '/', target);
    const fwd = http.request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(null)));
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  return {
    base: `http://127.0.0.1:${port}`,
    count: (/** @type {string} */ p) => counts.get(p) ?? 0,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r(null));
      }),
  };
}

/** Polls `check` until it returns true, failing after `ms`. */
export async function eventually(check, ms = 20_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The same token with its header's `kid` replaced: a key the server never had. */
export function withForeignKid(token, kid) {
  const [header, ...rest] = token.split('.');
  const h = JSON.parse(Buffer.from(header, 'base64url').toString());
  return [Buffer.from(JSON.stringify({ ...h, kid })).toString('base64url'), ...rest].join('.');
}
