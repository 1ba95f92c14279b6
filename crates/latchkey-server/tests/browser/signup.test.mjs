// Sign-up in a real browser: the newcomer's path (sign up, keep the API key, confirm the
// address from the mailed link), the refusals, the sign-up setting, and a sign-up through an
// OpenID provider (the oidc-provider in tests/oidc-provider) with the phone-number step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  PASSWORD,
  eventually,
  freePort,
  freshEmail,
  launch,
  look,
  openPage,
  sessionCookie,
  signupApi,
  skip,
  startServer,
} from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The link in the newest mail to `to` whose subject is `subject`. */
async function mailedLink(server, to, subject) {
  const mail = await eventually(
    () => server.mails(to).filter((m) => m.subject === subject).at(-1),
    `the mail "${subject}" to ${to}`,
  );
  const link = mail.body.match(/https?:\/\/\S+/)[0];
  return link;
}

/** Fills the sign-up form and sends it. */
async function signUp(page, base, { email, password = PASSWORD, name, referral } = {}) {
  await page.goto(`${base}/signup`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (name) await page.getByLabel('Your name').fill(name);
  if (referral) await page.getByLabel('Referral code').fill(referral);
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** The status of `/get-token` for an API key. */
async function tokenFor(base, key) {
  const res = await fetch(`${base}/get-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: key }),
  });
  return res.status;
}

/** Whether the account's address is confirmed, as the JSON API says. */
async function verified(base, email) {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const { access_token: access } = await login.json();
  const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${access}` } });
  return (await me.json()).email_verified;
}

describe('sign-up pages', { skip }, () => {
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

  test('a newcomer signs up, keeps the API key shown once, and confirms the address from the mailed link', async () => {
    const email = freshEmail('newcomer');
    const { context, page, assertNoErrors } = await openPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });

    // `/` without a session offers sign-in, which links to sign-up.
    await page.goto(`${server.base}/`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${server.base}/signup`);
    await look(page, 'signup');

    // The password rules are the server's, ticked off while typing.
    await page.getByLabel('Email address').fill(email);
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('short');
    const minimum = page.locator('#password-rules li[data-rule=min]');
    assert.equal(await minimum.getAttribute('data-state'), 'unmet');
    assert.match(await minimum.textContent(), /at least 8 characters/);
    await password.fill(PASSWORD);
    assert.equal(await minimum.getAttribute('data-state'), 'met');
    await page.getByLabel('Your name').fill('Nia Newcomer');
    await page.getByRole('button', { name: 'Create account' }).click();

    // Signed in at once, as the admin of a new organization, with the key shown this once.
    await assert.doesNotReject(page.getByRole('heading', { name: 'Your account is ready' }).waitFor());
    await assert.doesNotReject(page.getByText('You are the admin of your new organization').waitFor());
    const key = await page.getByLabel('API key').inputValue();
    assert.match(key, /^lk_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await assert.doesNotReject(page.getByRole('button', { name: 'Copied' }).waitFor());
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    assert.ok(await sessionCookie(context), 'the web session is open');
    await look(page, 'signup-welcome');
    // The key works: it mints an API token.
    assert.equal(await tokenFor(server.base, key), 200);
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL(`${server.base}/`);
    // Signed in, the sign-up page is skipped.
    await page.goto(`${server.base}/signup`);
    await page.waitForURL(`${server.base}/`);

    // The confirmation mail's link; a mail scanner fetches it first and spends nothing.
    const link = await mailedLink(server, email, 'Confirm your email address');
    assert.ok(link.startsWith(`${server.base}/verify-email?token=lkv_`), link);
    const scanner = await fetch(link);
    assert.equal(scanner.status, 200);
    assert.equal(await verified(server.base, email), false);

    // In the browser signed in to the account: one button.
    await page.goto(link);
    await look(page, 'verify-email');
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Your address is confirmed' }).waitFor());
    assert.equal(await verified(server.base, email), true);
    // The person keeps what they set up: still signed in, the key still works.
    assert.ok(await sessionCookie(context));
    assert.equal(await tokenFor(server.base, key), 200);

    // The link is spent: a clear page with the way forward.
    await page.goto(link);
    await assert.doesNotReject(page.getByRole('heading', { name: 'This link no longer works' }).waitFor());
    await look(page, 'verify-email-dead');
    assertNoErrors();
    await context.close();
  });

  test('a taken address and a common password are refused on the form, with the input kept', async () => {
    const { email: taken } = await signupApi(server.base);
    const { context, page, assertNoErrors } = await openPage(browser);
    await signUp(page, server.base, { email: taken, name: 'Second Try' });
    const summary = page.getByRole('alert');
    await assert.doesNotReject(summary.getByText('An account with this address exists already').waitFor());
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'error-summary');
    assert.equal(await page.getByLabel('Email address').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Your name').inputValue(), 'Second Try');
    await look(page, 'signup-error');

    await signUp(page, server.base, { email: freshEmail(), password: 'password123' });
    await assert.doesNotReject(page.getByRole('alert').getByText('too common').waitFor());
    const field = page.getByLabel('Password', { exact: true });
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await sessionCookie(context), undefined, 'no session for a refused sign-up');
    assertNoErrors();
    await context.close();
  });
});

describe('the sign-up setting', { skip }, () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('invite-only asks for a referral code and makes a member; closed has no sign-up page', async () => {
    // The founder signs up while sign-up is open; then the server becomes invite-only.
    const open = await startServer();
    const founder = await signupApi(open.base);
    const org = await (
      await fetch(`${open.base}/api/v1/org`, {
        headers: { authorization: `Bearer ${founder.tokens.access_token}` },
      })
    ).json();
    await open.stop({ keep: true });
    const invite = await startServer({ LATCHKEY_SIGNUP: 'invite' }, { dir: open.dir });
    const { context, page, assertNoErrors } = await openPage(browser);
    try {
      await signUp(page, invite.base, { email: freshEmail('invited') });
      await assert.doesNotReject(
        page.getByRole('alert').getByText('Enter the referral code of the organization that invited you.').waitFor(),
      );
      await look(page, 'signup-invite');
      // An invitation link fills the code in.
      await page.goto(`${invite.base}/signup?referral_code=${org.referral_code}`);
      assert.equal(await page.getByLabel('Referral code').inputValue(), org.referral_code);
      await page.getByLabel('Email address').fill(freshEmail('invited'));
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await assert.doesNotReject(page.getByText('You joined the organization as a member.').waitFor());
      assertNoErrors();
    } finally {
      await context.close();
      await invite.stop();
    }

    const closed = await startServer({ LATCHKEY_SIGNUP: 'closed' });
    const visit = await openPage(browser);
    try {
      const response = await visit.page.goto(`${closed.base}/signup`);
      assert.equal(response.status(), 404);
      await assert.doesNotReject(visit.page.getByText('Sign-up is closed on this server.').waitFor());
      // Nor does the sign-in page offer it.
      await visit.page.goto(`${closed.base}/login`);
      assert.equal(await visit.page.getByRole('link', { name: 'Create an account' }).count(), 0);
      await look(visit.page, 'signup-closed');
    } finally {
      await visit.context.close();
      await closed.stop();
    }
  });
});

// ---- a provider's first sign-up: the phone-number step ---------------------------------------

const providerDir = path.resolve(here, '../../../../tests/oidc-provider');
const providerMissing = !existsSync(path.join(providerDir, 'node_modules/oidc-provider'));
if (providerMissing && process.env.CI === 'true') {
  throw new Error('tests/oidc-provider/node_modules is required under CI=true (npm ci)');
}

/** The OpenID provider on loopback, sending people back to Latchkey at `port`. */
async function startProvider(port, people) {
  const child = spawn('node', [path.join(providerDir, 'provider.mjs')], {
    env: {
      ...process.env,
      OP_MODE: 'google',
      OP_REDIRECT_URI: `http://127.0.0.1:${port}/api/v1/oauth/corp/callback`,
      OP_PEOPLE: JSON.stringify(people),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', () => reject(new Error('the provider exited')));
  });
  return { issuer: JSON.parse(line).config_issuer, stop: () => child.kill() };
}

/**
 * No console or page error on Latchkey's pages. The provider's own development pages are not
 * ours to judge (they ask for web fonts and a favicon that are not there).
 */
function assertNoErrorsHere(errors, base) {
  const ours = errors.filter((e) => e.startsWith('page:') || e.includes(`(${base}/`));
  assert.deepEqual(ours, [], 'the page logged errors');
}

/** Signs in at the provider's own login and consent pages. */
async function atProvider(page, login) {
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any');
  await page.locator('button[type=submit]').click();
  await page.locator('button[type=submit]').click();
}

describe('sign-up through a provider', { skip: skip || (providerMissing && 'oidc-provider is not installed') }, () => {
  let server;
  let provider;
  let browser;
  before(async () => {
    const port = await freePort();
    provider = await startProvider(port, {
      pia: { email: 'pia@example.com', email_verified: true, name: 'Pia Provider' },
    });
    server = await startServer(
      {
        LATCHKEY_OIDC_PROVIDERS: `[{name="corp", kind="oidc", issuer="${provider.issuer}", client_id="latchkey-client", client_secret="a-long-enough-client-secret-for-tests"}]`,
      },
      { port },
    );
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    provider?.stop();
  });

  test('the first sign-up asks for the phone number before the account exists, then lands signed in', async () => {
    const { context, page, errors } = await openPage(browser, { locale: 'en-GB' });
    await page.goto(`${server.base}/signup`);
    await page.getByRole('link', { name: 'Sign up with Corp' }).click();
    await atProvider(page, 'pia');

    // Back at Latchkey: the phone step, the country code from the browser's language.
    await assert.doesNotReject(page.getByRole('heading', { name: 'One more step' }).waitFor());
    await assert.doesNotReject(page.getByText('pia@example.com').waitFor());
    const phone = page.getByLabel('Phone number');
    assert.equal(await phone.inputValue(), '+44 ');
    assert.equal(await phone.getAttribute('autocomplete'), 'tel');
    assert.equal(await sessionCookie(context), undefined, 'no account, no session yet');
    await look(page, 'provider-phone');

    // A number that is not E.164: refused on the page, the step still usable.
    await phone.fill('020 7946 0958');
    await page.getByRole('button', { name: 'Create account' }).click();
    await assert.doesNotReject(page.getByRole('alert').getByText('E.164').waitFor());
    assert.equal(await page.getByLabel('Phone number').getAttribute('aria-invalid'), 'true');
    await look(page, 'provider-phone-error');

    await page.getByLabel('Phone number').fill('+44 20 7946 0958');
    await page.getByRole('button', { name: 'Create account' }).click();
    await assert.doesNotReject(page.getByRole('heading', { name: 'Your account is ready' }).waitFor());
    await assert.doesNotReject(page.getByText('You are the admin of your new organization').waitFor());
    assert.match(await page.getByLabel('API key').inputValue(), /^lk_/);
    assert.ok(await sessionCookie(context), 'signed in');
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL(`${server.base}/`);
    await assert.doesNotReject(page.getByText('pia@example.com').first().waitFor());

    // Signed out, the provider button on the sign-in page signs the same person in again.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(/\/login/);
    await page.getByRole('link', { name: 'Sign in with Corp' }).click();
    // The provider remembers its own session: it may skip its login page.
    if (await page.locator('input[name=login]').count()) await atProvider(page, 'pia');
    else if (!page.url().startsWith(server.base)) await page.locator('button[type=submit]').click();
    await page.waitForURL(`${server.base}/`);
    assert.ok(await sessionCookie(context), 'signed in again');
    assertNoErrorsHere(errors, server.base);
    await context.close();
  });

  test('cancelling at the provider comes back to a page that says so', async () => {
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${server.base}/signup`);
    await page.getByRole('link', { name: 'Sign up with Corp' }).click();
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.waitForURL(`${server.base}/provider/return?error=refused`);
    await assert.doesNotReject(page.getByRole('heading', { name: 'The sign-in did not finish' }).waitFor());
    await page.getByRole('link', { name: 'Start again' }).click();
    await page.waitForURL(`${server.base}/login`);
    assert.equal(await sessionCookie(context), undefined);
    assertNoErrorsHere(errors, server.base);
    await context.close();
  });

  test('a return with a code but without the browser that started it is refused', async () => {
    const { context, page, errors } = await openPage(browser);
    const response = await page.goto(`${server.base}/provider/return?code=made-up`);
    assert.equal(response.status(), 400);
    await assert.doesNotReject(page.getByRole('heading', { name: 'The sign-in did not finish' }).waitFor());
    await look(page, 'provider-failed');
    assertNoErrorsHere(errors, server.base);
    await context.close();
  });
});
