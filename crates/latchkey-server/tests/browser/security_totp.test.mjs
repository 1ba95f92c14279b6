// Two-factor authentication on the account's security page in a real browser: turn it on
// (QR code, secret, first code, recovery codes shown once), sign in again with password and
// code, then turn it off with a current code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { launch, look, openPage, signInWithPassword, signupApi, skip, startServer, totp } from './support.mjs';

const step = () => Math.floor(Date.now() / 1000 / 30);

/**
 * A code for a step after `used` (the server accepts one step of skew and never the same step
 * twice): the next step's code at once, or after waiting for the clock to reach `used`.
 */
async function codeAfter(secret, used) {
  while (step() < used) await sleep(250);
  const now = step();
  const target = Math.max(used + 1, now);
  return { code: totp(secret, target - now), step: target };
}

describe('two-factor authentication page', { skip }, () => {
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

  test('a person turns TOTP on, signs in with it, and turns it off', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    await signInWithPassword(page, server.base, email);
    await page.waitForURL((u) => u.pathname !== '/login');

    await page.getByRole('link', { name: 'Security: two-factor authentication' }).click();
    await page.waitForURL((u) => u.pathname === '/account/security');
    await assert.doesNotReject(page.getByText('Two-factor authentication is off.').waitFor());
    await look(page, 'security');

    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code shows');
    const secret = await page.getByLabel('Secret for your authenticator app').inputValue();
    assert.match(secret, /^[A-Z2-7]+=*$/);
    await look(page, 'security-enrol');

    // A wrong code keeps the secret on the page and says what went wrong.
    const wrong = totp(secret) === '000000' ? '111111' : '000000';
    await page.getByLabel('Code from the app').fill(wrong);
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    await page.getByText('That code is not right').first().waitFor();
    assert.equal(await page.getByLabel('Secret for your authenticator app').inputValue(), secret);

    let used = step();
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    const codes = page.getByRole('textbox', { name: 'Recovery codes' });
    await codes.waitFor();
    const lines = (await codes.inputValue()).split('\n').filter(Boolean);
    assert.ok(lines.length >= 8, `recovery codes shown: ${lines.length}`);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), lines.join('\n'));
    await look(page, 'security-codes');

    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('Two-factor authentication is on.').first().waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Recovery codes' }).count(), 0, 'the codes are shown once');
    await look(page, 'security-on');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signInWithPassword(page, server.base, email);
    const code = page.getByLabel('Authentication code');
    await code.waitFor();
    const next = await codeAfter(secret, used);
    used = next.step;
    await code.fill(next.code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.pathname === '/');

    await page.goto(`${server.base}/account/security`);
    await page.getByText('Two-factor authentication is on.').first().waitFor();
    const off = await codeAfter(secret, used);
    await page.getByLabel('Code', { exact: true }).fill(off.code);
    await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await page.waitForURL((u) => u.search === '?done=off');
    await page.getByText('Two-factor authentication is off.').first().waitFor();
    await look(page, 'security-off');
    assertNoErrors();
    await context.close();
  });
});
