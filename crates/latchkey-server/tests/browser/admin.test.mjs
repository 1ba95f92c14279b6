// Organization admin in a real browser: members (scopes from the catalogue, disable, end
// sessions, revoke keys, remove), the referral code (copy, regenerate: the old one stops
// working), the audit log with filters and paging, the 403 page for members, and the
// operator's signing keys.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import {
  PASSWORD,
  freshEmail,
  launch,
  look,
  openPage,
  serverBinary,
  signInWithPassword,
  signupApi,
  skip,
  startServer,
} from './support.mjs';

async function api(base, method, path, token, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** An admin (founder) and a member who joined with the referral code, made through the API. */
async function organization(base) {
  const admin = await signupApi(base);
  const org = await api(base, 'GET', '/api/v1/org', admin.tokens.access_token);
  const member = await signupApi(base, { referral_code: org.body.referral_code });
  assert.equal(member.tokens.user.role, 'member');
  return { admin, member, code: org.body.referral_code };
}

async function signedIn(browser, base, email) {
  const opened = await openPage(browser);
  await opened.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await signInWithPassword(opened.page, base, email);
  await opened.page.waitForURL((u) => u.pathname !== '/login');
  return opened;
}

describe('organization admin pages', { skip }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer({
      LATCHKEY_SCOPES: 'orders:read,orders:write,billing:admin',
      LATCHKEY_ADMIN_GRANTABLE_SCOPES: 'orders:read,orders:write',
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('an admin copies and regenerates the referral code; the old code stops working', async () => {
    const { admin, code } = await organization(server.base);
    const { context, page, assertNoErrors } = await signedIn(browser, server.base, admin.email);
    await page.goto(`${server.base}/admin`);
    assert.equal(await page.getByLabel('Code', { exact: true }).inputValue(), code);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await assert.doesNotReject(page.getByText('Copied.').waitFor());
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);
    await look(page, 'admin');

    await page.getByRole('button', { name: 'Make a new code' }).click();
    await page.waitForURL(/\/admin\?done=referral$/);
    const fresh = await page.getByLabel('Code', { exact: true }).inputValue();
    assert.notEqual(fresh, code);
    const refused = await fetch(`${server.base}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: freshEmail(), password: PASSWORD, referral_code: code }),
    });
    assert.equal(refused.status, 422);
    const joined = await signupApi(server.base, { referral_code: fresh });
    assert.equal(joined.tokens.user.role, 'member');
    assertNoErrors();
    await context.close();
  });

  test('an admin grants catalogue scopes, disables, ends sessions, revokes keys and removes a member', async () => {
    const { admin, member } = await organization(server.base);
    const memberToken = member.tokens.access_token;
    const { context, page, assertNoErrors } = await signedIn(browser, server.base, admin.email);
    await page.goto(`${server.base}/admin`);
    await page.getByRole('link', { name: member.email }).click();
    await page.waitForURL(/\/admin\/members\//);

    // Only grantable scopes can be ticked; the operator grants the rest.
    assert.equal(await page.getByLabel('billing:admin').isDisabled(), true);
    await page.getByLabel('orders:write').check();
    await page.getByRole('button', { name: 'Save scopes' }).click();
    await assert.doesNotReject(page.getByText('Scopes saved.').waitFor());
    assert.equal(await page.getByLabel('orders:write').isChecked(), true);
    const me = await api(server.base, 'GET', '/api/v1/me', memberToken);
    assert.deepEqual(me.body.scopes, ['orders:write']);
    await look(page, 'admin-member');

    // Revoke the member's default API key: it stops at once.
    const defaultKey = member.tokens.api_key.key;
    await page.getByRole('button', { name: /^Revoke/ }).first().click();
    await assert.doesNotReject(page.getByText('The key is revoked.').waitFor());
    const minted = await fetch(`${server.base}/get-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: defaultKey }),
    });
    assert.equal(minted.status, 401);

    // End their sessions: the member's token is refused.
    await page.getByRole('button', { name: 'End all their sessions' }).click();
    await assert.doesNotReject(page.getByText('Their sessions have ended.').waitFor());
    assert.equal((await api(server.base, 'GET', '/api/v1/me', memberToken)).status, 401);

    // Disable: the member cannot sign in.
    await page.getByRole('button', { name: 'Disable account' }).click();
    await assert.doesNotReject(page.getByText('Account status changed.').waitFor());
    const login = await fetch(`${server.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: member.email, password: PASSWORD }),
    });
    assert.equal(login.status, 403);

    // Remove: the address must be typed.
    await page.getByRole('link', { name: 'Remove from organization' }).click();
    await page.getByLabel('Email address').fill('someone@else.example');
    await page.getByRole('button', { name: 'Remove this member' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('Type the member').waitFor());
    await look(page, 'admin-remove-error');
    await page.getByLabel('Email address').fill(member.email);
    await page.getByRole('button', { name: 'Remove this member' }).click();
    await page.waitForURL(/\/admin\?done=removed$/);
    assert.equal(await page.getByRole('link', { name: member.email }).count(), 0);
    assertNoErrors();
    await context.close();
  });

  test('the audit log filters by event and pages through older events', async () => {
    const { admin } = await organization(server.base);
    const { context, page, assertNoErrors } = await signedIn(browser, server.base, admin.email);
    await page.goto(`${server.base}/admin`);
    await page.getByRole('button', { name: 'Make a new code' }).click();
    await page.waitForURL(/done=referral/);

    await page.goto(`${server.base}/admin/audit`);
    await page.getByLabel('Event').selectOption('org.referral_code_regenerated');
    await page.getByRole('button', { name: 'Show' }).click();
    const events = page.locator('.events > li');
    await assert.doesNotReject(events.first().waitFor());
    assert.equal(await events.count(), 1);
    await assert.doesNotReject(events.first().getByText(admin.email).first().waitFor());
    await look(page, 'admin-audit');

    // Two a page: "Older events" leads on, without repeating an event.
    await page.goto(`${server.base}/admin/audit?limit=2`);
    const first = await page.locator('.events h2').allTextContents();
    assert.equal(first.length, 2);
    await page.getByRole('link', { name: 'Older events' }).click();
    const second = await page.locator('.events li').count();
    assert.ok(second >= 1);
    assert.match(page.url(), /cursor=/);

    // A date that is no date is the page's error, not a server error.
    const bad = await page.goto(`${server.base}/admin/audit?since=2026-13-45`);
    assert.equal(bad.status(), 400);
    await assert.doesNotReject(page.getByRole('alert').getByText('year-month-day').waitFor());
    assertNoErrors();
    await context.close();
  });

  test('a member gets the 403 page at /admin and at the signing keys', async () => {
    const { member } = await organization(server.base);
    const { context, page, assertNoErrors } = await signedIn(browser, server.base, member.email);
    for (const path of ['/admin', '/admin/audit', '/admin/signing-keys']) {
      const res = await page.goto(`${server.base}${path}`);
      assert.equal(res.status(), 403, path);
      await assert.doesNotReject(page.getByRole('heading', { name: 'Not allowed' }).waitFor());
    }
    await look(page, 'admin-forbidden');
    assertNoErrors();
    await context.close();
  });

  test('an operator sees the signing keys with their status and rotates', async () => {
    const { admin } = await organization(server.base);
    execFileSync(serverBinary(), ['users', 'operator', admin.email], {
      env: { PATH: process.env.PATH, LATCHKEY_DATA_DIR: server.dir },
    });
    const { context, page, assertNoErrors } = await signedIn(browser, server.base, admin.email);
    await page.goto(`${server.base}/admin/signing-keys`);
    const keys = page.locator('.cards > li');
    const before = await keys.count();
    assert.ok(before >= 1);
    await assert.doesNotReject(keys.first().getByText('Signing', { exact: true }).waitFor());
    await page.getByRole('button', { name: 'Rotate signing key' }).click();
    await page.waitForURL(/done=rotated$/);
    assert.equal(await keys.count(), before + 1);
    await assert.doesNotReject(keys.nth(1).getByText('Verifying only').waitFor());
    await look(page, 'admin-signing-keys');
    const jwks = await (await fetch(`${server.base}/.well-known/jwks.json`)).json();
    assert.ok(jwks.keys.length >= 2, 'the new key is published beside the old');
    assertNoErrors();
    await context.close();
  });
});
