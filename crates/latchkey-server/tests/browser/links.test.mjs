// The pages the mailed links open, in a real browser: the password reset from "forgot
// password" to signing in with the new password, and the address confirmation without a
// session (the account's password keeps it; the link alone takes a squatted account over).
// A GET never spends a token: a mail scanner fetches every link first.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PASSWORD,
  eventually,
  freshEmail,
  launch,
  look,
  openPage,
  signupApi,
  skip,
  startServer,
} from './support.mjs';

const NEW_PASSWORD = 'lantern orchid seventeen';

async function mailedLink(server, to, subject) {
  const mail = await eventually(
    () => server.mails(to).filter((m) => m.subject === subject).at(-1),
    `the mail "${subject}" to ${to}`,
  );
  return mail.body.match(/https?:\/\/\S+/)[0];
}

async function loginStatus(base, email, password) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return res.status;
}

async function me(base, access) {
  const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${access}` } });
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
}

async function askForLink(page, base, email) {
  await page.goto(`${base}/forgot-password`);
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
}

describe('mailed-link pages', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('forgot password: the mailed link sets a new password after a scanner fetched it', async () => {
    const { email, tokens } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);

    // The sign-in page leads to the form.
    await page.goto(`${server.base}/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/forgot-password/);
    await look(page, 'forgot-password');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Check your mail' }).waitFor());
    const answer = await page.locator('main p').first().textContent();
    await look(page, 'forgot-password-sent');

    // No account enumeration: an unknown address gets the very same answer.
    const stranger = freshEmail('nobody');
    await askForLink(page, server.base, stranger);
    await assert.doesNotReject(page.getByRole('heading', { name: 'Check your mail' }).waitFor());
    assert.equal(await page.locator('main p').first().textContent(), answer.replace(email, stranger));

    const link = await mailedLink(server, email, 'Reset your password');
    assert.ok(link.startsWith(`${server.base}/reset-password?token=lkp_`), link);
    // A mail scanner's GET: a page, nothing spent.
    const scanner = await fetch(link);
    assert.equal(scanner.status, 200);
    assert.match(await scanner.text(), /Choose a new password/);
    assert.equal(await loginStatus(server.base, email, PASSWORD), 200, 'the password is unchanged');

    await page.goto(link);
    await look(page, 'reset-password');
    // A refused password keeps the link usable.
    await page.getByLabel('New password').fill('password1');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('too common').waitFor());
    await look(page, 'reset-password-error');
    const field = page.getByLabel('New password');
    assert.equal(await field.getAttribute('autocomplete'), 'new-password');
    await field.fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Your password is changed' }).waitFor());

    assert.equal(await loginStatus(server.base, email, PASSWORD), 401, 'the old password is gone');
    assert.equal(await loginStatus(server.base, email, NEW_PASSWORD), 200);
    assert.equal((await me(server.base, tokens.access_token)).status, 401, 'every session ended');

    // Used: a clear page that leads to a new link.
    const dead = await page.goto(link);
    assert.equal(dead.status(), 410);
    await assert.doesNotReject(page.getByRole('heading', { name: 'This link no longer works' }).waitFor());
    await look(page, 'reset-password-dead');
    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.waitForURL(`${server.base}/forgot-password`);
    assertNoErrors();
    await context.close();
  });

  test('forgot password: a malformed address is refused on the field; the mail limit says when to retry', async () => {
    const { context, page, assertNoErrors } = await openPage(browser);
    await askForLink(page, server.base, 'not-an-address');
    await assert.doesNotReject(page.getByRole('alert').getByText('Enter an email address like').waitFor());
    assert.equal(await page.getByLabel('Email address').getAttribute('aria-invalid'), 'true');
    await look(page, 'forgot-password-error');

    // The JSON API's limit per address (5 per window by default) holds on the page.
    const email = freshEmail('many');
    for (let i = 0; i < 5; i++) {
      await askForLink(page, server.base, email);
      await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
    }
    await askForLink(page, server.base, email);
    await assert.doesNotReject(page.getByRole('alert').getByText('Try again in').waitFor());
    assertNoErrors();
    await context.close();
  });

  test('confirming the address without a session: the password keeps the account as it is', async () => {
    const { email, tokens } = await signupApi(server.base);
    const link = await mailedLink(server, email, 'Confirm your email address');
    assert.equal((await fetch(link)).status, 200, 'a scanner sees the page');
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(link);
    await look(page, 'verify-email-password');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('The password is not right.').waitFor());
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Your address is confirmed' }).waitFor());
    const now = await me(server.base, tokens.access_token);
    assert.equal(now.status, 200, 'the session lives on');
    assert.equal(now.body.email_verified, true);
    assertNoErrors();
    await context.close();
  });

  test('confirming with the link alone takes over an account someone else set up with the address', async () => {
    // A squatter signs up with someone else's address; its owner gets the mail.
    const { email, tokens } = await signupApi(server.base);
    const link = await mailedLink(server, email, 'Confirm your email address');
    const { context, page, assertNoErrors } = await openPage(browser);
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm and take over the account' }).click();
    await assert.doesNotReject(page.getByText('the account is yours').waitFor());
    await look(page, 'verify-email-taken-over');
    assert.equal(await loginStatus(server.base, email, PASSWORD), 401, "the squatter's password is gone");
    assert.equal((await me(server.base, tokens.access_token)).status, 401, "the squatter's session ended");
    assertNoErrors();
    await context.close();
  });
});
