import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Guard } from '../src/index.js';
import { frameworks, get } from './support/apps.js';
import { call, countingProxy, eventually, login, organization, startServer, withForeignKid } from './support/latchkey.js';

let server;
let org;

before(async () => {
  server = await startServer();
  org = await organization(server);
});
after(() => server?.stop());

for (const [name, api] of Object.entries(frameworks)) {
  describe(`${name} middleware`, () => {
    test('lets a token with the route scope in, refuses one without with 403, and no token with 401', async () => {
      const app = await api(new Guard({ issuer: server.issuer }));
      try {
        const ann = await org.member();
        const ok = await get(`${app.base}/orders`, ann.access_token);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.user, ann.user.user_id);
        assert.equal(ok.body.org, ann.user.org_id);

        const refused = await get(`${app.base}/orders`, ann.access_token, 'POST');
        assert.equal(refused.status, 403);
        assert.deepEqual(refused.body, {
          status: 'failed',
          code: 403,
          error: 'insufficient_scope',
          message: 'the token lacks the scope orders:write',
          data: {},
        });
        assert.equal(refused.challenge, 'Bearer realm="api", error="insufficient_scope", scope="orders:write"');

        // Once the admin grants the scope, a new token carries it.
        const grant = await call(server.base, 'PUT', `/api/v1/admin/users/${ann.user.user_id}/scopes`, {
          token: org.operatorToken,
          body: { scopes: ['orders:read', 'orders:write'] },
        });
        assert.equal(grant.status, 200, JSON.stringify(grant.body));
        const fresh = await login(server.base, ann.email);
        assert.equal((await get(`${app.base}/orders`, fresh.access_token, 'POST')).status, 201);

        const none = await get(`${app.base}/orders`);
        assert.equal(none.status, 401);
        assert.equal(none.body.error, 'missing_token');
        assert.equal(none.challenge, 'Bearer realm="api"');

        const junk = await get(`${app.base}/orders`, 'not-a-jwt');
        assert.equal(junk.status, 401);
        assert.equal(junk.body.error, 'invalid_token');
        assert.equal(junk.challenge, 'Bearer realm="api", error="invalid_token"');
      } finally {
        await app.close();
      }
    });

    test('with introspection, a token is refused once its session has logged out', async () => {
      const offline = await api(new Guard({ issuer: server.issuer }));
      const online = await api(new Guard({ issuer: server.issuer, introspection: { ...org.introspection, cacheMs: 1000 } }));
      try {
        const bob = await org.member();
        assert.equal((await get(`${online.base}/orders`, bob.access_token)).status, 200);
        const out = await call(server.base, 'POST', '/api/v1/auth/logout', { token: bob.access_token });
        assert.equal(out.status, 204, JSON.stringify(out.body));

        await eventually(async () => (await get(`${online.base}/orders`, bob.access_token)).status === 401, 20_000, 'a 401 after logout');
        const after = await get(`${online.base}/orders`, bob.access_token);
        assert.equal(after.body.error, 'invalid_token');
        assert.equal(after.body.message, 'the session has ended');
        // Offline verification cannot see a logout: the token passes until it expires.
        assert.equal((await get(`${offline.base}/orders`, bob.access_token)).status, 200);
      } finally {
        await Promise.all([offline.close(), online.close()]);
      }
    });

    test("a worker's API auth token is let in through introspection until its key is deleted", async () => {
      const offline = await api(new Guard({ issuer: server.issuer }));
      const online = await api(new Guard({ issuer: server.issuer, introspection: { ...org.introspection, cacheMs: 1000 } }));
      try {
        const gus = await org.member();
        const got = await call(server.base, 'POST', '/get-token', { body: { api_key: gus.api_key.key } });
        assert.equal(got.status, 200, JSON.stringify(got.body));
        const authToken = got.body.data.auth_token;

        for (const agent of [true, false]) {
          const ok = await get(`${online.base}/orders`, authToken, 'GET', { agent });
          assert.equal(ok.status, 200, JSON.stringify(ok.body));
          assert.deepEqual(ok.body, { orders: [], user: gus.user.user_id, org: gus.user.org_id, key: gus.api_key.id });
        }
        assert.equal((await get(`${online.base}/orders`, authToken, 'POST', { agent: true })).status, 403);
        // Only Latchkey can read an API auth token: without introspection it is refused.
        const offlineAnswer = await get(`${offline.base}/orders`, authToken, 'GET', { agent: true });
        assert.equal(offlineAnswer.status, 401);
        assert.equal(offlineAnswer.body.error, 'invalid_token');

        const deleted = await call(server.base, 'DELETE', `/api/v1/api-keys/${gus.api_key.id}`, { token: gus.access_token });
        assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
        await eventually(
          async () => (await get(`${online.base}/orders`, authToken, 'GET', { agent: true })).status === 401,
          20_000,
          'a 401 once the key is deleted',
        );
      } finally {
        await Promise.all([offline.close(), online.close()]);
      }
    });
  });
}

test('introspection scopes are the ones in force now, and a refused client fails closed with 503', async () => {
  const guard = new Guard({ issuer: server.issuer, introspection: { ...org.introspection, cacheMs: 0 } });
  const cy = await org.member();
  assert.deepEqual((await guard.authorize(cy.access_token, ['orders:read'])).scopes, ['orders:read']);
  const taken = await call(server.base, 'PUT', `/api/v1/admin/users/${cy.user.user_id}/scopes`, {
    token: org.operatorToken,
    body: { scopes: [] },
  });
  assert.equal(taken.status, 200, JSON.stringify(taken.body));
  await assert.rejects(guard.authorize(cy.access_token, ['orders:read']), { status: 403, error: 'insufficient_scope' });

  const wrongClient = new Guard({
    issuer: server.issuer,
    introspection: { clientId: org.introspection.clientId, clientSecret: 'lk_wrong', cacheMs: 0 },
  });
  const dan = await org.member();
  await assert.rejects(wrongClient.verify(dan.access_token), { status: 503, error: 'service_unavailable' });
});

test('tokens of another issuer or audience are refused with 401', async () => {
  const eve = await org.member();
  for (const guard of [
    new Guard({ issuer: server.issuer, audience: 'https://other.example' }),
    new Guard({ issuer: 'https://other.example', jwksUrl: `${server.base}/.well-known/jwks.json` }),
  ]) {
    await assert.rejects(guard.verify(eve.access_token), {
      status: 401,
      error: 'invalid_token',
      message: 'the token is invalid: wrong issuer or audience',
    });
  }
  // Another Latchkey deployment: its own keys, which this one's JWKS does not have.
  const other = await startServer();
  try {
    const stranger = await (await import('./support/latchkey.js')).signup(other.base);
    const guard = new Guard({ issuer: server.issuer });
    await assert.rejects(guard.verify(stranger.access_token), { status: 401, error: 'invalid_token' });
  } finally {
    await other.stop();
  }
});

test('the JWKS is fetched once, again for a rotated key, and not for every forged key id', async () => {
  const proxy = await countingProxy(server.base);
  const JWKS = '/.well-known/jwks.json';
  try {
    const guard = new Guard({ issuer: server.issuer, jwksUrl: `${proxy.base}${JWKS}`, refetchIntervalMs: 1000 });
    const fay = await org.member();
    await guard.verify(fay.access_token);
    await guard.verify(fay.access_token);
    assert.equal(proxy.count(JWKS), 1);

    // A flood of unknown key ids right after a fetch costs Latchkey nothing.
    const forged = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => guard.verify(withForeignKid(fay.access_token, `forged-${i}`))),
    );
    assert.ok(forged.every((r) => r.status === 'rejected' && r.reason.status === 401));
    assert.equal(proxy.count(JWKS), 1);

    const rotated = await call(server.base, 'POST', '/api/v1/admin/signing-keys/rotate', { token: org.operatorToken });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const fresh = await login(server.base, fay.email);
    const kid = JSON.parse(Buffer.from(fresh.access_token.split('.')[0], 'base64url').toString()).kid;
    assert.equal(kid, rotated.body.kid);

    // The new kid is unknown here: the guard fetches the set again (once the floor has passed).
    await eventually(
      () => guard.verify(fresh.access_token).then(() => true, () => false),
      20_000,
      'the rotated key to be fetched',
    );
    assert.equal((await guard.verify(fresh.access_token)).userId, fay.user.user_id);
    assert.ok(proxy.count(JWKS) >= 2);
    // The old key still verifies the tokens it signed.
    await guard.verify(fay.access_token);
  } finally {
    await proxy.close();
  }
});

test('an unreachable JWKS is 503, never an allow or an invalid token', async () => {
  // A loopback port where nothing listens.
  const closed = await countingProxy('http://127.0.0.1:9');
  const url = `${closed.base}/.well-known/jwks.json`;
  await closed.close();
  const guard = new Guard({ issuer: server.issuer, jwksUrl: url });
  const hal = await org.member();
  for (let i = 0; i < 2; i++) {
    await assert.rejects(guard.verify(hal.access_token), { status: 503, error: 'service_unavailable' });
  }
});
