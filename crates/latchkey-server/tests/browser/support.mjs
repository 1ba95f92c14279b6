// What every browser test shares: the real `latchkey` binary on SQLite with the development
// mail outbox in a temporary directory, headless Chromium (playwright-core driving the
// system's /usr/bin/chromium), axe-core on every page, console errors as failures, and
// screenshots at 1280 and 360 px wide in target/screenshots/.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const CHROMIUM = process.env.LATCHKEY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** `describe(…, { skip })`: without Chromium the tests are skipped, except under CI=true. */
export const skip = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed`;
if (skip && process.env.CI === 'true') throw new Error(`${CHROMIUM} is required under CI=true`);

export const PASSWORD = 'correct horse battery staple';
export const SCREENSHOTS = path.resolve(here, '../../../../target/screenshots');

/** The server binary: the one cargo built for the Rust test that runs us, or the debug build. */
export function serverBinary() {
  return process.env.LATCHKEY_TEST_SERVER_BIN ?? path.resolve(here, '../../../../target/debug/latchkey');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `latchkey serve` over SQLite in a fresh directory (mail to its outbox) and waits
 * until it is healthy. `env` adds or overrides LATCHKEY_* settings; `dir` reuses a data
 * directory (a second instance, or a restart).
 */
export async function startServer(env = {}, { dir: given, port: fixed } = {}) {
  const port = fixed ?? (await freePort());
  const dir = given ?? mkdtempSync(path.join(os.tmpdir(), 'latchkey-pages-'));
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
  const deadline = Date.now() + 60_000;
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
    dir,
    port,
    stderr: () => stderr,
    /** Every mail in the outbox to `to`, oldest first, as decoded text. */
    mails(to) {
      const box = path.join(dir, 'outbox');
      if (!existsSync(box)) return [];
      return readdirSync(box)
        .map((name) => path.join(box, name))
        .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
        .map((file) => decodeMail(readFileSync(file, 'utf8')))
        .filter((m) => m.to.includes(to));
    },
    async stop({ keep = false } = {}) {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The headers we need and the text body of a mail (quoted-printable undone). */
function decodeMail(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const header = (name) => (unfolded.match(new RegExp(`^${name}: (.*)$`, 'mi')) ?? [])[1] ?? '';
  const body = rest
    .join('\n\n')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return { to: header('To'), subject: header('Subject'), body };
}

/** Polls `check` until it returns a truthy value (returned), failing after `ms`. */
export async function eventually(check, what = 'condition', ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let n = 0;
/** A fresh address for this test run. */
export function freshEmail(tag = 'web') {
  return `${tag}${process.pid}-${Date.now()}-${n++}@example.com`;
}

/** An account made through the JSON API: `{ email, password, tokens }`. */
export async function signupApi(base, extra = {}) {
  const email = extra.email ?? freshEmail();
  const password = PASSWORD;
  const res = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, ...extra }),
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  return { email, password, tokens: await res.json() };
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/**
 * A new browser context and page that fail the test on any console error or page error (a CSP
 * violation is one). Returns `{ context, page, errors }`; call `assertNoErrors()` at the end.
 */
export async function openPage(browser, { width = 1280, height = 900, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    // A page answered with its error status (401, 403, 429 …) is the page itself, not a
    // failed resource: Chromium logs it all the same.
    const ownStatus = msg.text().startsWith('Failed to load resource') && where === page.url();
    if (!ownStatus) errors.push(`console: ${msg.text()} (${where})`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return {
    context,
    page,
    errors,
    assertNoErrors() {
      assert.deepEqual(errors, [], 'the page logged errors');
    },
  };
}

/** Runs axe-core on the page: no serious or critical violation is allowed. */
export async function checkA11y(page, what = page.url()) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    // Injected through the DevTools protocol (not a <script>), so the pages' CSP is untouched.
    await page.evaluate(AXE);
  }
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `accessibility violations on ${what}`,
  );
}

/**
 * Screenshots of the current page at 1280 and 360 px wide (full page), named
 * `<name>-1280.png` and `<name>-360.png` in target/screenshots/. Checks that nothing scrolls
 * sideways at 360 px.
 */
export async function screenshots(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const original = page.viewportSize();
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: 800 });
    if (width === 360) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} scrolls sideways at 360 px (${overflow} px too wide)`);
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

/** Checks a page for accessibility and takes its screenshots. */
export async function look(page, name) {
  await checkA11y(page, name);
  await screenshots(page, name);
}

/** The `__Host-latchkey` cookie of a context, or undefined. */
export async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === '__Host-latchkey');
}

/** Signs in through the sign-in page with the password. */
export async function signInWithPassword(page, base, email, password = PASSWORD) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `stepsAhead` steps from now. */
export function totp(secret, stepsAhead = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + stepsAhead));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** Turns on TOTP for the account of `accessToken`; returns `{ secret, recoveryCodes }`. */
export async function enableTotp(base, accessToken) {
  const auth = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
  const enroll = await fetch(`${base}/api/v1/mfa/totp/enroll`, { method: 'POST', headers: auth });
  if (!enroll.ok) throw new Error(`enroll: ${enroll.status} ${await enroll.text()}`);
  const { secret } = await enroll.json();
  const confirm = await fetch(`${base}/api/v1/mfa/totp/confirm`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ code: totp(secret) }),
  });
  if (!confirm.ok) throw new Error(`confirm: ${confirm.status} ${await confirm.text()}`);
  return { secret, recoveryCodes: (await confirm.json()).recovery_codes };
}

/** A PKCE pair as an app makes it: `{ verifier, challenge }` (S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}
