// A real OpenID provider (oidc-provider) on loopback for Latchkey's sign-in tests, with its
// own login and consent pages (devInteractions). Configured by environment:
//   OP_MODE         google | microsoft
//   OP_TENANT       microsoft: the tenant in the issuer and in `tid`
//   OP_REDIRECT_URI Latchkey's callback URL
//   OP_PEOPLE       JSON: { "<login>": { claims… } }; the login becomes `sub` unless given
// Prints one line of JSON, {"issuer": …, "config_issuer": …}, once it listens; stops when its
// standard input closes (the test process ended).
import http from 'node:http';
import Provider from 'oidc-provider';

const mode = process.env.OP_MODE || 'google';
const tenant = process.env.OP_TENANT || 'tenant-a';
const people = JSON.parse(process.env.OP_PEOPLE || '{}');

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
// Microsoft's `common` endpoint: tokens name the person's own tenant in `iss`.
const issuer = mode === 'microsoft' ? `${base}/${tenant}/v2.0` : base;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'latchkey-client',
    client_secret: 'a-long-enough-client-secret-for-tests',
    redirect_uris: [process.env.OP_REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_post',
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  claims: mode === 'microsoft'
    ? { openid: ['sub', 'tid', 'oid'], email: ['email'], profile: ['name'] }
    : { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  // Like Google and Microsoft: the scopes' claims are in the ID token itself.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const person = people[id] || {};
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(mode === 'microsoft' ? { tid: tenant } : {}), ...person };
      },
    };
  },
});
provider.proxy = false;
const callback = provider.callback();

server.on('request', async (req, res) => {
  if (mode === 'microsoft' && req.url === '/common/v2.0/.well-known/openid-configuration') {
    const r = await fetch(`${base}/.well-known/openid-configuration`);
    const doc = await r.json();
    doc.issuer = `${base}/{tenantid}/v2.0`;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(doc));
    return;
  }
  callback(req, res);
});

const configIssuer = mode === 'microsoft' ? `${base}/common/v2.0` : base;
process.stdout.write(`${JSON.stringify({ issuer, config_issuer: configIssuer })}\n`);
// Standard output is the ready line only: the test may stop reading it.
console.log = console.error;
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
