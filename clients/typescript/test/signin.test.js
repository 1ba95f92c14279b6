// Every way to sign in with the SDK, against a real server whose mail goes to its outbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApiKeyClient, LatchkeyClient, LatchkeyError, MemoryStorage, socketIoAuth } from '../dist/index.js';
import { signup, startServer } from './support/harness.js';
import { codeAfter, linkParam, mailTo, totp } from './support/mail.js';

async function post(base, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Proves the address with the link mailed at sign-up: a mailed code for an unproven address
 * claims the account instead of signing in to it. */
async function proveAddress(server, email, password) {
  const mail = await mailTo(server.outbox, email, 'Confirm your email address');
  const r = await post(server.base, '/api/v1/auth/email/verify', { token: linkParam(mail, 'token'), password });
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

describe('signing in', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('password and mailed code, each followed by a second factor (TOTP set, recovery codes spent)', async () => {
    const { email, password, tokens } = await signup(server.base);
    await proveAddress(server, email, password);
    const enrolled = await post(server.base, '/api/v1/mfa/totp/enroll', {}, tokens.access_token);
    assert.equal(enrolled.status, 200);
    const confirmed = await post(
      server.base,
      '/api/v1/mfa/totp/confirm',
      { code: totp(enrolled.body.secret) },
      tokens.access_token,
    );
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const recovery = confirmed.body.recovery_codes;

    const storage = new MemoryStorage();
    const client = new LatchkeyClient({ baseUrl: server.base, storage });
    await assert.rejects(client.login(email, 'not the password at all'), (e) => e instanceof LatchkeyError && e.error === 'invalid_credentials');
    const first = await client.login(email, password);
    assert.equal(first.status, 'mfa_required');
    assert.equal(first.challenge.kind, 'token');
    // A code five minutes ahead is a wrong code now.
    const wrong = await client.verifyMfa(first.challenge, totp(enrolled.body.secret, 10));
    assert.equal(wrong.status, 'invalid_code');
    assert.equal(wrong.attemptsLeft, 4);
    const done = await client.verifyMfa(wrong.challenge, recovery[0]);
    assert.equal(done.status, 'signed_in');
    assert.equal((await client.fetch('/api/v1/me')).status, 200);
    const device = await storage.get('latchkey.refresh_token.device');
    assert.equal(device, done.device_token);
    await client.logout();
    assert.equal(await storage.get('latchkey.refresh_token.device'), device, 'the device token outlives the session');

    const sent = await client.sendLoginCode(email);
    assert.ok(sent.login_id);
    const code = codeAfter(await mailTo(server.outbox, email, 'Your sign-in code'), 'sign-in code is ');
    const bad = await client.loginWithCode(sent.login_id, code === '000000' ? '111111' : '000000');
    assert.deepEqual(bad, { status: 'invalid_code' });
    const asked = await client.loginWithCode(sent.login_id, code);
    assert.equal(asked.status, 'mfa_required');
    assert.equal(asked.challenge.kind, 'code');
    const byCode = await client.verifyMfa(asked.challenge, recovery[1]);
    assert.equal(byCode.status, 'signed_in');
    assert.equal((await client.fetch('/api/v1/me')).status, 200);
  });

  test('adopt tokens, change, forget and reset the password, sign out everywhere', async () => {
    const client = new LatchkeyClient({ baseUrl: server.base });
    const email = `signin${process.pid}-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    const created = await client.signup({ email, password });
    assert.ok(created.api_key, 'a sign-up shows its key once');
    await proveAddress(server, email, password);

    const sent = await client.sendLoginCode(email);
    const code = codeAfter(await mailTo(server.outbox, email, 'Your sign-in code'), 'sign-in code is ');
    const byCode = await client.loginWithCode(sent.login_id, code);
    assert.equal(byCode.status, 'signed_in');
    assert.equal(byCode.user.email, email);

    // The lower-level calls an app builds on.
    const signedInToken = await client.whenSignedIn();
    assert.equal(signedInToken, client.currentAccessToken());
    const renewed = await client.refresh(signedInToken);
    assert.notEqual(renewed, signedInToken);
    const handed = await new Promise((resolve) => socketIoAuth(client)(resolve));
    assert.deepEqual(handed, { token: renewed });
    const refused = await fetch(`${server.base}/api/v1/me`, { headers: { authorization: 'Bearer not.a.jwt' } });
    assert.equal(await client.rejectsToken(refused.clone()), true);
    const error = await LatchkeyError.fromResponse(refused);
    assert.equal(error.error, 'invalid_token');
    assert.equal(await client.rejectsToken(await client.fetch('/api/v1/me')), false);
    const agent = await new ApiKeyClient({ baseUrl: server.base, apiKey: created.api_key.key }).getToken();
    assert.match(agent, /^lkt_/);

    const elsewhere = await post(server.base, '/api/v1/auth/login', { email, password });
    const other = new LatchkeyClient({ baseUrl: server.base });
    await other.adoptTokens(elsewhere.body);
    assert.equal((await other.fetch('/api/v1/me')).status, 200);

    const changed = 'a new horse battery staple';
    await client.changePassword(password, changed);
    assert.equal((await client.login(email, changed)).status, 'signed_in');
    await client.forgotPassword(email);
    const token = linkParam(await mailTo(server.outbox, email, 'Reset your password'), 'token');
    const afterReset = 'a third horse battery staple';
    await client.resetPassword(token, afterReset);
    assert.equal(client.currentAccessToken(), null);
    assert.equal((await client.login(email, afterReset)).status, 'signed_in');
    const second = await other.login(email, afterReset);
    assert.equal(second.status, 'signed_in');

    const ended = await client.logoutEverywhere();
    assert.ok(ended >= 2, `${ended} sessions ended`);
    assert.equal(client.currentAccessToken(), null);
    const me = await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${second.access_token}` } });
    assert.equal(me.status, 401, 'the other device was signed out too');
  });
});
