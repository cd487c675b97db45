// A real OpenID Connect provider (the certified `oidc-provider` package) for Pictorium's
// sign-in tests, started by tests/oidc_server.py on a free loopback port.
//
// OIDC_PORT: the port; OIDC_REDIRECT_URIS: the client's redirect URIs (space separated);
// each one's /login beside it is a post-logout redirect URI (RP-initiated logout).
// Users and the client come from config.json. The signing key is made at start; a second
// key, never published, signs the "wrong_key" variant. POST /__mode?name=... switches the
// variant for the tests: normal, slow (every answer 5 s late), or a tampered ID token out of
// the token endpoint: wrong_key, audience, expired, nonce.
import fs from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(fs.readFileSync(new URL('./config.json', import.meta.url)));
const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(' ').filter(Boolean);

async function rsaKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}
const signing = await rsaKey('test-signing');
const other = await rsaKey('test-other');

async function resign(idToken, change, jwk = signing) {
  const claims = { ...jose.decodeJwt(idToken), ...change };
  const key = await jose.importJWK(jwk, 'RS256');
  // The header names the published key even when another one signs (wrong_key).
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signing.kid }).sign(key);
}

const now = () => Math.floor(Date.now() / 1000);
const tamper = {
  wrong_key: (t) => resign(t, {}, other),
  audience: (t) => resign(t, { aud: 'another-application' }),
  expired: (t) => resign(t, { iat: now() - 7200, exp: now() - 3600 }),
  nonce: (t) => resign(t, { nonce: 'not-the-one-sent' }),
};
let mode = 'normal';

const provider = new Provider(issuer, {
  // Signing out at the provider comes back to the sign-in page beside each callback.
  clients: config.clients.map((c) => ({
    ...c,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris.map((u) => u.replace(/\/oauth2\/callback$/, '/login')),
  })),
  jwks: { keys: [signing] },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user }) };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // The claims of the scopes asked for go into the ID token too (Pictorium reads it alone).
  conformIdTokenClaims: false,
  // First-party test client: no consent screen, the grant is made at sign-in.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: [jose.base64url.encode(crypto.getRandomValues(new Uint8Array(32)))] },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/__mode') {
    mode = String(ctx.query.name || 'normal');
    ctx.body = { mode };
    return;
  }
  if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 5000));
  await next();
  if (ctx.path === '/token' && tamper[mode] && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await tamper[mode](ctx.body.id_token) };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
