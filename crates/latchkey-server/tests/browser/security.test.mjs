// The account's security pages in a real browser: the page the link mailed to a new address
// opens. A GET never spends the link (mail scanners fetch every link first); the button does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { eventually, freshEmail, launch, look, openPage, signupApi, skip, startServer } from './support.mjs';

async function me(base, access) {
  const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${access}` } });
  return res.json();
}

describe('account security pages', { skip }, () => {
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

  test('the new-address link changes the address only when its button is pressed', async () => {
    const { tokens } = await signupApi(server.base);
    const access = tokens.access_token;
    const newEmail = freshEmail('moved');
    const res = await fetch(`${server.base}/api/v1/me/email`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: newEmail }),
    });
    assert.equal(res.status, 202, await res.text());
    const mail = await eventually(
      () => server.mails(newEmail).find((m) => m.subject === 'Confirm your new email address'),
      'the confirmation mail',
    );
    const link = mail.body.match(/https?:\/\/\S+/)[0];

    // A mail scanner fetches the link first: nothing is spent, nothing changes.
    const scanned = await fetch(link);
    assert.equal(scanned.status, 200);
    assert.notEqual((await me(server.base, access)).email, newEmail);

    const { page, assertNoErrors } = await openPage(browser);
    await page.goto(link);
    await assert.doesNotReject(page.getByRole('heading', { name: 'Confirm your new email address' }).waitFor());
    await look(page, 'confirm-email');
    await page.getByRole('button', { name: 'Confirm this address' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Email address changed' }).waitFor());
    assert.match(await page.locator('main').textContent(), new RegExp(newEmail.replace(/[.+]/g, '\\$&')));
    await look(page, 'confirm-email-done');
    assert.equal((await me(server.base, access)).email, newEmail);

    // The link worked once.
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm this address' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'This link no longer works' }).waitFor());
    await look(page, 'confirm-email-dead');
    assertNoErrors();
  });
});
