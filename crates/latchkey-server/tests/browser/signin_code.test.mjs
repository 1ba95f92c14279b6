// Signing in with a mailed code and with the magic link from the same mail; a link fetched by a
// mail scanner first still works for the person.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { eventually, launch, look, openPage, sessionCookie, signupApi, skip, startServer } from './support.mjs';

describe('sign-in by mailed code', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    // Two codes per address per window: the third send waits.
    server = await startServer({ LATCHKEY_LOGIN_CODE_LIMIT_PER_EMAIL: '2' });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const latestMail = (email, count = 1) =>
    eventually(() => {
      const mails = server.mails(email).filter((m) => m.subject === 'Your sign-in code');
      return mails.length >= count && mails[mails.length - 1];
    }, `mail ${count} to ${email}`);

  async function askForCode(page, email) {
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  }

  test('the code page takes the mailed code, pasted with a space', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await askForCode(page, email);
    const field = page.getByLabel('Sign-in code');
    assert.equal(await field.getAttribute('inputmode'), 'numeric');
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
    await look(page, 'signin-code');

    // A wrong code first: the page says so and keeps the way to send another.
    await field.fill('000000');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText(/That code is not right/).waitFor());
    await look(page, 'signin-code-error');

    const mail = await latestMail(email);
    const code = mail.body.match(/\b(\d{6})\b/)[1];
    // Pasted as people copy it from some mail apps: "123 456".
    await page.getByLabel('Sign-in code').evaluate((el, v) => {
      const data = new DataTransfer();
      data.setData('text/plain', v);
      el.focus();
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      if (!el.value) el.value = v;
    }, `${code.slice(0, 3)} ${code.slice(3)}`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${server.base}/`);
    assert.ok(await sessionCookie(context));
    assertNoErrors();
    await context.close();
  });

  test('sending again follows the server limit: a refused send says when, and the button counts down', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await askForCode(page, email);
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await assert.doesNotReject(page.getByText('We sent a new code. Only the newest one works.').waitFor());
    // The third send in the window is refused, with the wait.
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText(/Try again in \d+ (seconds|minutes)/).waitFor());
    const again = page.getByRole('button', { name: /Send a new code in \d+:\d\d/ });
    await assert.doesNotReject(again.waitFor());
    assert.equal(await again.isDisabled(), true);
    await look(page, 'signin-code-wait');
    // The code already mailed still works on this page.
    const mail = await latestMail(email, 2);
    await page.getByLabel('Sign-in code').fill(mail.body.match(/\b(\d{6})\b/)[1]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${server.base}/`);
    assertNoErrors();
    await context.close();

    // Without JavaScript the button is a plain button and the server says when.
    const plain = await openPage(browser, { javaScriptEnabled: false });
    await askForCode(plain.page, email).catch(() => {});
    await assert.doesNotReject(plain.page.getByRole('alert').getByText(/Try again in/).waitFor());
    await plain.context.close();
  });

  test('a magic link opened first by a mail scanner still signs the person in, by the button', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await askForCode(page, email);
    const mail = await latestMail(email);
    const link = mail.body.match(/(http:\/\/127\.0\.0\.1:\d+\/login\?login_id=[0-9a-f]+&code=\d+)/)[1];

    // The scanner: GETs (and a HEAD) spend nothing.
    for (let i = 0; i < 2; i += 1) {
      const scanned = await fetch(link);
      assert.equal(scanned.status, 200);
      assert.equal(scanned.headers.get('set-cookie'), null);
    }
    await fetch(link, { method: 'HEAD' });

    const other = await openPage(browser);
    await other.page.goto(link);
    await assert.doesNotReject(other.page.getByRole('heading', { name: 'Sign in with your link' }).waitFor());
    assert.equal(await sessionCookie(other.context), undefined, 'opening the link signs nobody in');
    await look(other.page, 'signin-magic-link');
    await other.page.getByRole('button', { name: 'Sign in' }).click();
    await other.page.waitForURL(`${server.base}/`);
    assert.ok(await sessionCookie(other.context));
    await assert.doesNotReject(other.page.getByText(email).first().waitFor());

    // Used once: the same link again leads back to the start, saying why.
    const third = await openPage(browser);
    await third.page.goto(link);
    await third.page.getByRole('button', { name: 'Sign in' }).click();
    await assert.doesNotReject(third.page.getByRole('alert').getByText(/That code is not right/).waitFor());
    assert.equal(await sessionCookie(third.context), undefined);
    other.assertNoErrors();
    third.assertNoErrors();
    assertNoErrors();
    for (const c of [context, other.context, third.context]) await c.close();
  });
});
