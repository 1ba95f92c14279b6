// Real Latchkey server processes for the SDK tests, and a counting proxy in front of them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The server binary: the one cargo built for the Rust test that runs us, or the debug build. */
export function serverBinary() {
  return process.env.LATCHKEY_TEST_SERVER_BIN ?? path.resolve(here, '../../../../target/debug/latchkey');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `latchkey serve` over SQLite in a fresh directory and waits until it is healthy. */
export async function startServer(env = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-sdk-'));
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('LATCHKEY_') && k !== 'RUST_LOG'),
  );
  const child = spawn(serverBinary(), ['serve'], {
    env: {
      ...childEnv,
      LATCHKEY_BIND: `127.0.0.1:${port}`,
      LATCHKEY_DATA_DIR: dir,
      LATCHKEY_ARGON2_MEMORY_KIB: '4096',
      LATCHKEY_ARGON2_ITERATIONS: '1',
      LATCHKEY_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
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
  return {
    base,
    /** The development outbox: every mail the server sent, as `.eml` files. */
    outbox: path.join(dir, 'outbox'),
    stderr: () => stderr,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A proxy that counts every request it passes on (`count('POST /api/v1/auth/refresh')`).
 * With `expiryAs403`, a protected route's 401 becomes a 403 `invalid_token`, as some servers
 * answer an expired token.
 */
export async function countingProxy(target, { expiryAs403 = false } = {}) {
  const counts = new Map();
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url.split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const upstream = new URL(req.url, target);
    const fwd = http.request(
      upstream,
      { method: req.method, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        const rewrite = expiryAs403 && up.statusCode === 401 && !req.url.startsWith('/api/v1/auth/');
        if (!rewrite) {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
          return;
        }
        up.resume();
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ status: 'failed', code: 403, error: 'invalid_token', message: 'token expired', data: {} }),
        );
      },
    );
    fwd.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(fwd);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    count: (key) => counts.get(key) ?? 0,
    reset: () => counts.clear(),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

let n = 0;
/** A fresh account on `base`: `{email, password, tokens}` (tokens = the sign-up answer). */
export async function signup(base, extra = {}) {
  const email = `sdk${process.pid}-${Date.now()}-${n++}@example.com`;
  const password = 'correct horse battery staple';
  const res = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, ...extra }),
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  return { email, password, tokens: await res.json() };
}

/** Polls `check` until it returns true, failing after `ms`. */
export async function eventually(check, ms = 20_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const REFRESH = 'POST /api/v1/auth/refresh';
export const pkg = JSON.parse(readFileSync(path.join(here, '..', '..', 'package.json'), 'utf8'));
