// A real OpenID Connect provider for Nattillsyn's single sign-on tests and demo.
//
// It is panva/oidc-provider (OpenID Certified) with its own small login page, set up
// like a municipality's identity provider: users with passwords, the groups they belong
// to as a "roles" claim, their municipality, and how they logged in (acr as a Swedish
// level of assurance, amr as the methods used). Nothing is kept: keys and sessions live
// in memory for the life of the process.
//
//   node idp.mjs CONFIG.json
//
// CONFIG: {"issuer": "http://127.0.0.1:PORT", "port": PORT,
//          "clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
//          "accounts": {"login": {"password", "claims": {...}, "acr", "amr": [...]}}}
// Prints "ready ISSUER" on stdout once it accepts connections.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const LOA3 = 'http://id.elegnamnden.se/loa/1.0/loa3';
const LOA2 = 'http://id.elegnamnden.se/loa/1.0/loa2';

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

const provider = new Provider(config.issuer, {
  clients: config.clients.map((client) => ({
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...client,
  })),
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  acrValues: [LOA2, LOA3],
  claims: {
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'roles', 'municipality'],
    email: ['email', 'email_verified'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, accountId) {
    const account = config.accounts[accountId];
    if (!account) return undefined;
    return { accountId, claims: async () => ({ sub: accountId, ...account.claims }) };
  },
  // A first-party client: the user is not asked to consent to what it may read.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 300, IdToken: 300 },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, error) {
  return `<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Test-IdP</title></head><body>
<h1>Test-IdP: logga in</h1>${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Användarnamn <input name="login" autofocus></label>
<label>Lösenord <input name="password" type="password"></label>
<button type="submit" name="action" value="login">Logga in</button>
<button type="submit" name="action" value="abort">Avbryt</button>
</form></body></html>`;
}

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
    return;
  }
  const form = await formBody(req);
  if (form.action === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled by the user' });
    return;
  }
  const account = config.accounts[form.login];
  if (!account || account.password !== form.password) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, 'Fel användarnamn eller lösenord'));
    return;
  }
  const login = { accountId: form.login, amr: account.amr || ['pwd'] };
  if (account.acr) login.acr = account.acr;
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`interaction failed: ${error.message}`);
    });
    return;
  }
  handle(req, res);
});
server.listen(config.port, '127.0.0.1', () => console.log(`ready ${config.issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
