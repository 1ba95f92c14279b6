// Hosted sign-in for apps in a real browser: an app on another origin sends the person to
// `/login?redirect_to=…&code_challenge=…`, the person signs in on our pages (password, second
// factor, or an open web session), the browser lands on the app with a one-time code, and
// the app trades it with its PKCE verifier at `POST /api/v1/auth/exchange`.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  PASSWORD,
  enableTotp,
  eventually,
  freePort,
  launch,
  look,
  openPage,
  pkce,
  signInWithPassword,
  signupApi,
  skip,
  startServer,
  totp,
} from './support.mjs';

/** The app's side: a callback page on its own loopback origin. */
async function startApp(port) {
  const srv = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>App</title><main><h1>Back in the app</h1></main></html>');
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  return srv;
}

describe('hosted sign-in for apps', { skip }, () => {
  let server;
  let browser;
  let app;
  let appOrigin;
  before(async () => {
    const appPort = await freePort();
    appOrigin = `http://127.0.0.1:${appPort}`;
    app = await startApp(appPort);
    server = await startServer({ LATCHKEY_OIDC_REDIRECT_ALLOW_LIST: appOrigin });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    app?.close();
  });

  const hostedLink = (challenge, redirectTo = `${appOrigin}/cb`) =>
    `${server.base}/login?redirect_to=${encodeURIComponent(redirectTo)}&code_challenge=${challenge}`;

  /** Waits for the browser to arrive on the app's callback and returns its code. */
  async function codeAtApp(page) {
    await page.waitForURL((url) => url.origin === appOrigin && url.pathname === '/cb');
    const code = new URL(page.url()).searchParams.get('code');
    assert.ok(code, 'the app receives a code');
    return code;
  }

  function exchange(code, verifier) {
    return fetch(`${server.base}/api/v1/auth/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, code_verifier: verifier }),
    });
  }

  /** The app trades the code and its tokens work for this person. */
  async function assertExchangeWorks(code, verifier, email) {
    const res = await exchange(code, verifier);
    assert.equal(res.status, 200, await res.clone().text());
    const tokens = await res.json();
    assert.ok(tokens.access_token, 'an access token');
    assert.ok(tokens.refresh_token, 'a refresh token');
    const me = await fetch(`${server.base}/api/v1/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).email, email);
  }

  test('an app gets a code after a password sign-in, and the code works once, with its verifier only', async () => {
    const { email } = await signupApi(server.base);
    const { verifier, challenge } = pkce();
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(hostedLink(challenge));
    // The page names the app the sign-in goes to.
    await assert.doesNotReject(page.getByText(appOrigin).first().waitFor());
    await look(page, 'hosted-signin');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const code = await codeAtApp(page);
    await assertExchangeWorks(code, verifier, email);

    // Single use.
    const again = await exchange(code, verifier);
    assert.equal(again.status, 401, 'the same code a second time is refused');
    assert.equal((await again.json()).error, 'external_login_failed');

    // A code for another challenge, traded with the wrong verifier: refused.
    const second = pkce();
    await page.goto(hostedLink(second.challenge));
    const code2 = await codeAtApp(page);
    const wrong = await exchange(code2, verifier);
    assert.equal(wrong.status, 401, 'a wrong verifier is refused');
    // No verifier at all: refused too.
    const none = await fetch(`${server.base}/api/v1/auth/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: code2 }),
    });
    assert.equal(none.status, 401, 'a missing verifier is refused');
    assertNoErrors();
    await context.close();
  });

  test('the code comes after the second factor (TOTP), not before', async () => {
    const { email, tokens } = await signupApi(server.base);
    const { secret } = await enableTotp(server.base, tokens.access_token);
    const { verifier, challenge } = pkce();
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(hostedLink(challenge));
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Second step' }).waitFor());
    assert.equal(new URL(page.url()).origin, server.base, 'still on our pages before the second factor');
    await look(page, 'hosted-mfa');
    // The code of the next 30 s step: the enrolment used this step's.
    await page.getByLabel('Authentication code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Continue' }).click();
    const code = await codeAtApp(page);
    await assertExchangeWorks(code, verifier, email);
    assertNoErrors();
    await context.close();
  });

  test('the code comes after a sign-in with a mailed code too', async () => {
    const { email } = await signupApi(server.base);
    const { verifier, challenge } = pkce();
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(hostedLink(challenge));
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    const mail = await eventually(
      () => server.mails(email).find((m) => m.subject === 'Your sign-in code'),
      `the sign-in code mail to ${email}`,
    );
    await page.getByLabel('Sign-in code').fill(mail.body.match(/\b(\d{6})\b/)[1]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const code = await codeAtApp(page);
    await assertExchangeWorks(code, verifier, email);
    assertNoErrors();
    await context.close();
  });

  test('an address outside the allow-list, or no PKCE challenge, gets a 400 page and no redirect', async () => {
    const { challenge } = pkce();
    const { context, page, assertNoErrors } = await openPage(browser);
    const cases = [
      hostedLink(challenge, 'http://evil.example/cb'),
      hostedLink(challenge, `http://localhost:${new URL(appOrigin).port}/cb`),
      `${server.base}/login?redirect_to=${encodeURIComponent(`${appOrigin}/cb`)}`,
      hostedLink('too-short'),
      `${hostedLink(challenge)}&code_challenge_method=plain`,
    ];
    for (const link of cases) {
      const res = await page.goto(link);
      assert.equal(res.status(), 400, link);
      assert.equal(new URL(page.url()).origin, server.base, `no redirect for ${link}`);
      await assert.doesNotReject(
        page.getByRole('heading', { name: 'This sign-in link cannot be used' }).waitFor(),
      );
    }
    await look(page, 'hosted-bad-link');
    // Nothing was remembered: a plain sign-in afterwards stays on our pages.
    const { email } = await signupApi(server.base);
    await signInWithPassword(page, server.base, email);
    await page.waitForURL(`${server.base}/`);
    assertNoErrors();
    await context.close();
  });

  test('a browser already signed in skips the form and goes straight to the app with a code', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await signInWithPassword(page, server.base, email);
    await page.waitForURL(`${server.base}/`);
    const { verifier, challenge } = pkce();
    await page.goto(hostedLink(challenge));
    const code = await codeAtApp(page);
    await assertExchangeWorks(code, verifier, email);
    // The app's session is its own: the pages' web session is still open.
    await page.goto(`${server.base}/`);
    assert.equal(new URL(page.url()).pathname, '/');
    assertNoErrors();
    await context.close();
  });
});

