// The account console's API keys and sessions in a real browser: a key made on the page works
// at /get-token, rotation with an overlap, deletion after typing the name, and the sessions
// list with "this device" and "sign out all other devices".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PASSWORD,
  launch,
  look,
  openPage,
  sessionCookie,
  signInWithPassword,
  signupApi,
  skip,
  startServer,
} from './support.mjs';

async function getToken(base, apiKey) {
  const res = await fetch(`${base}/get-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey }),
  });
  return { status: res.status, body: await res.json() };
}

/** Signs in on the page and opens the API keys page. */
async function keysPage(browser, base, email) {
  const opened = await openPage(browser);
  await opened.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await signInWithPassword(opened.page, base, email);
  await opened.page.waitForURL((u) => u.pathname !== '/login');
  await opened.page.goto(`${base}/account/keys`);
  return opened;
}

describe('API keys and sessions pages', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer({
      LATCHKEY_SCOPES: 'orders:read,orders:write',
      LATCHKEY_DEFAULT_SCOPES: 'orders:read',
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a newcomer creates an API key, copies its secret once, and the key works at /get-token', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await keysPage(browser, server.base, email);
    await look(page, 'keys');

    await page.getByLabel('Name', { exact: true }).fill('deploy bot');
    await page.getByLabel('Only the scopes chosen below').check();
    await page.getByLabel('orders:read').check();
    await page.getByLabel('Expires').selectOption('30');
    await page.getByRole('button', { name: 'Create key' }).click();

    const secretField = page.getByLabel('Secret', { exact: true });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.match(secret, /^lk_/);
    await assert.doesNotReject(page.getByText('it is shown this once').waitFor());
    // The copy button (shown where a script runs) puts the secret on the clipboard.
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await assert.doesNotReject(page.getByText('Copied.').waitFor());
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await look(page, 'keys-created');

    // The key works: an auth token carrying the chosen scope.
    const { status, body } = await getToken(server.base, secret);
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.data.auth_token);

    // Shown once: the list has the key by prefix, never the secret again.
    await page.goto(`${server.base}/account/keys`);
    assert.equal(await page.getByLabel('Secret', { exact: true }).count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is not on the page again');
    const card = page.locator('.cards > li').filter({ hasText: 'deploy bot' });
    await assert.doesNotReject(card.getByText(secret.slice(0, 10)).waitFor());
    await assert.doesNotReject(card.getByText('orders:read').waitFor());
    assertNoErrors();
    await context.close();
  });

  test('a key without a name is refused on the page with focus on the error', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await keysPage(browser, server.base, email);
    await page.getByRole('button', { name: 'Create key' }).click();
    const summary = page.getByRole('alert');
    await assert.doesNotReject(summary.getByText('Give the key a name.').waitFor());
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'error-summary');
    await look(page, 'keys-error');
    assertNoErrors();
    await context.close();
  });

  test('rotating with an overlap keeps the old secret working; deleting needs the typed name', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await keysPage(browser, server.base, email);
    await page.getByLabel('Name', { exact: true }).fill('ci');
    await page.getByRole('button', { name: 'Create key' }).click();
    const old = await page.getByLabel('Secret', { exact: true }).inputValue();

    await page.goto(`${server.base}/account/keys`);
    const card = page.locator('.cards > li').filter({ hasText: 'ci' }).last();
    await card.getByLabel('Old secret keeps working').selectOption('3600');
    await card.getByRole('button', { name: 'Rotate ci' }).click();
    await assert.doesNotReject(page.getByText('New secret: ci').waitFor());
    const rotated = await page.getByLabel('Secret', { exact: true }).inputValue();
    assert.notEqual(rotated, old);
    assert.equal((await getToken(server.base, rotated)).status, 200);
    assert.equal((await getToken(server.base, old)).status, 200, 'the old secret works during the overlap');

    // Delete: the wrong name is refused, the right one deletes.
    await page.goto(`${server.base}/account/keys`);
    await page.getByRole('link', { name: 'Delete ci' }).last().click();
    await page.getByLabel('Key name').fill('not it');
    await page.getByRole('button', { name: 'Delete this key' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText("Type the key's name").waitFor());
    await look(page, 'keys-delete-error');
    await page.getByLabel('Key name').fill('ci');
    await page.getByRole('button', { name: 'Delete this key' }).click();
    await page.waitForURL(/\/account\/keys\?done=deleted$/);
    await assert.doesNotReject(page.getByText('The key is deleted').waitFor());
    assert.equal((await getToken(server.base, rotated)).status, 401);
    assertNoErrors();
    await context.close();
  });

  test('the sessions page names this device and signs out the others', async () => {
    const { email } = await signupApi(server.base);
    const other = await openPage(browser);
    await signInWithPassword(other.page, server.base, email);
    await other.page.waitForURL((u) => u.pathname !== '/login');

    const { context, page, assertNoErrors } = await openPage(browser);
    await signInWithPassword(page, server.base, email);
    await page.waitForURL((u) => u.pathname !== '/login');
    await page.goto(`${server.base}/account/sessions`);
    const mine = page.locator('.cards > li').filter({ hasText: 'This device' });
    await assert.doesNotReject(mine.getByRole('heading', { name: /^Chrome on Linux/ }).waitFor());
    // The API sign-up's session and the other browser are listed too.
    assert.equal(await page.locator('.cards > li').count(), 3);
    await look(page, 'sessions');

    await page.getByRole('button', { name: 'Sign out all other devices' }).click();
    await page.waitForURL(/\/account\/sessions\?done=others$/);
    await assert.doesNotReject(page.getByText('Every other session has ended.').waitFor());
    assert.equal(await page.locator('.cards > li').count(), 1);

    // The other browser is signed out at once; this one is not.
    await other.page.goto(`${server.base}/account/sessions`);
    assert.equal(new URL(other.page.url()).pathname, '/login');
    assert.ok(await sessionCookie(context));
    other.assertNoErrors();
    await other.context.close();
    assertNoErrors();
    await context.close();
  });
});

describe('a key that can do more than read', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer({
      LATCHKEY_SCOPES: 'orders:read,orders:write',
      LATCHKEY_DEFAULT_SCOPES: 'orders:read,orders:write',
      LATCHKEY_REAUTH_WINDOW: '10s',
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('asks for the password once the sign-in is no longer recent, as the API does', async () => {
    const { email } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await keysPage(browser, server.base, email);
    // The sign-in proves who it is for LATCHKEY_REAUTH_WINDOW (10 s here): let it lapse.
    await new Promise((r) => setTimeout(r, 10_500));
    await page.getByLabel('Name', { exact: true }).fill('writer');
    await page.getByRole('button', { name: 'Create key' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('confirm your password').waitFor());
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'writer');
    await look(page, 'keys-reauth');

    await page.getByLabel('Your password').fill('not my password');
    await page.getByRole('button', { name: 'Create key' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('That password is not right.').waitFor());

    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('Secret', { exact: true }).inputValue();
    const { status, body } = await getToken(server.base, secret);
    assert.equal(status, 200, JSON.stringify(body));
    assertNoErrors();
    await context.close();
  });
});
