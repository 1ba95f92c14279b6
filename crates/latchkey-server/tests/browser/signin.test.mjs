// Sign-in in a real browser: the password form, the web session's cookie, signing out, and
// what a form sent from another site gets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PASSWORD,
  enableTotp,
  launch,
  look,
  openPage,
  sessionCookie,
  signInWithPassword,
  signupApi,
  skip,
  startServer,
  totp,
} from './support.mjs';

describe('sign-in pages', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    // A small per-account budget, so the lock-out is reached in a few tries.
    server = await startServer({ LATCHKEY_LOGIN_LIMIT_PER_ACCOUNT_IP: '4' });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('signing in with a password opens a web session in an HttpOnly, Secure, SameSite=Lax cookie', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);

    // `/` without a session is the sign-in page.
    await page.goto(`${server.base}/`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await look(page, 'signin');

    await signInWithPassword(page, server.base, email, PASSWORD);
    await page.waitForURL(`${server.base}/`);
    await assert.doesNotReject(page.getByText(email).first().waitFor());
    await look(page, 'home');

    // The account page leads on to the console; the founder of an organization is its admin.
    assert.equal(await page.getByRole('link', { name: 'Organization admin' }).count(), 1);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(`${server.base}/account/keys`);
    await page.goto(`${server.base}/`);

    // Chromium keeps a Secure cookie from http://127.0.0.1 (a secure context).
    const cookie = await sessionCookie(context);
    assert.ok(cookie, 'the __Host-latchkey cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.ok(cookie.expires > Date.now() / 1000, 'the cookie outlives the browser session');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read it');

    // The session is an ordinary Latchkey session: it signs out like one.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(/\/login\?done=signed-out$/);
    await assert.doesNotReject(page.getByText('You are signed out.').waitFor());
    assert.equal(await sessionCookie(context), undefined, 'the cookie is gone');
    await page.goto(`${server.base}/`);
    assert.equal(new URL(page.url()).pathname, '/login');
    assertNoErrors();
    await context.close();
  });

  test('a wrong password is refused on the page, with the field kept and focus on the error', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await signInWithPassword(page, server.base, email, 'not the password at all');
    const summary = page.getByRole('alert');
    await assert.doesNotReject(summary.getByText('The email address or password is not right.').waitFor());
    assert.equal(await page.getByLabel('Email address').inputValue(), email);
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'error-summary');
    assert.equal(await sessionCookie(context), undefined);
    await look(page, 'signin-error');
    assertNoErrors();
    await context.close();
  });

  test('a sign-in form posted from another site is refused', async () => {
    const { email } = await signupApi(server.base);
    // The real page's token, sent by "another site": the browser names the site it came from.
    const form = await (await fetch(`${server.base}/login`)).text();
    const csrf = form.match(/name="_csrf" value="([^"]+)"/)[1];
    const body = new URLSearchParams({ _csrf: csrf, email, password: PASSWORD });
    const crossSite = await fetch(`${server.base}/login`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.headers.get('set-cookie'), null);
    // No browser headers at all: refused too.
    const bare = await fetch(`${server.base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });
    assert.equal(bare.status, 403);
    // The same form from this origin, with the token: signed in.
    const same = await fetch(`${server.base}/login`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });
    assert.equal(same.status, 303);
    assert.match(same.headers.get('set-cookie'), /^__Host-latchkey=/);
    // Without the token, even from this origin: refused.
    const noToken = await fetch(`${server.base}/login`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password: PASSWORD }),
      redirect: 'manual',
    });
    assert.equal(noToken.status, 403);

    // In the browser: a page on another origin submitting a form to /login.
    const { page, context } = await openPage(browser);
    const other = await import('node:http').then(({ createServer }) => {
      const srv = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><form method="post" action="${server.base}/login">
          <input name="_csrf" value="${csrf}"><input name="email" value="${email}">
          <input name="password" value="${PASSWORD}"><button>go</button></form>`);
      });
      return new Promise((r) => srv.listen(0, 'localhost', () => r(srv)));
    });
    await page.goto(`http://localhost:${other.address().port}/`);
    await page.getByRole('button', { name: 'go' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'This form could not be sent' }).waitFor());
    assert.equal(await sessionCookie(context), undefined);
    other.close();
    await context.close();
  });
  test('an account with TOTP is asked for its second factor, with the tries left after a wrong code', async () => {
    const { email, tokens } = await signupApi(server.base);
    const { secret } = await enableTotp(server.base, tokens.access_token);
    const { context, page, assertNoErrors } = await openPage(browser);
    await signInWithPassword(page, server.base, email);
    await assert.doesNotReject(page.getByRole('heading', { name: 'Second step' }).waitFor());
    assert.equal(await sessionCookie(context), undefined, 'no session before the second factor');
    await look(page, 'signin-mfa');

    await page.getByLabel('Authentication code').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('That code is not right.').waitFor());
    await assert.doesNotReject(page.getByText('Tries left: 4').waitFor());
    assert.equal(await page.getByLabel('Authentication code').getAttribute('aria-invalid'), 'true');
    await look(page, 'signin-mfa-error');

    // The code of the next 30 s step: the enrolment used this step's.
    await page.getByLabel('Authentication code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${server.base}/`);
    assert.ok(await sessionCookie(context));
    assertNoErrors();
    await context.close();
  });

  test('too many wrong passwords lock the account here, and the page says when to try again', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    for (let i = 0; i < 4; i += 1) {
      await signInWithPassword(page, server.base, email, 'wrong wrong wrong');
      await page.getByRole('alert').waitFor();
    }
    // Even the right password waits now.
    await signInWithPassword(page, server.base, email, PASSWORD);
    const alert = page.getByRole('alert');
    await assert.doesNotReject(alert.getByText(/Too many tries\..*Try again in \d+ (seconds|minutes)\./).waitFor());
    assert.equal(await sessionCookie(context), undefined);
    await look(page, 'signin-locked');
    assertNoErrors();
    await context.close();
  });

  test('signing in works with the keyboard alone', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(`${server.base}/login`);
    // Skip link, brand, then the email field.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/`);
    assert.ok(await sessionCookie(context));
    assertNoErrors();
    await context.close();
  });

  test('a browser with a live session skips the sign-in form, and signing out everywhere ends every device', async () => {
    const { email } = await signupApi(server.base);
    const laptop = await openPage(browser);
    const phone = await openPage(browser, { width: 360 });
    for (const { page } of [laptop, phone]) {
      await signInWithPassword(page, server.base, email);
      await page.waitForURL(`${server.base}/`);
    }
    // The automatic login check: /login goes straight on, to `next` when given.
    await laptop.page.goto(`${server.base}/login?next=${encodeURIComponent('/?from=login')}`);
    assert.equal(laptop.page.url(), `${server.base}/?from=login`);
    // An outside address is never a `next`.
    await laptop.page.goto(`${server.base}/login?next=${encodeURIComponent('//evil.example/')}`);
    assert.equal(laptop.page.url(), `${server.base}/`);

    await phone.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await phone.page.waitForURL(/done=signed-out-everywhere/);
    await assert.doesNotReject(phone.page.getByText('You are signed out on every device.').waitFor());
    await look(phone.page, 'signed-out');
    // The laptop's session ended too: its next page asks to sign in.
    await laptop.page.goto(`${server.base}/`);
    assert.equal(new URL(laptop.page.url()).pathname, '/login');
    assert.equal(await sessionCookie(laptop.context), undefined, 'the dead cookie is removed');
    laptop.assertNoErrors();
    phone.assertNoErrors();
    await laptop.context.close();
    await phone.context.close();
  });
});
