// A real OpenID Connect provider (oidc-provider, npm) for the federation tests.
//
//   node tests/accounts/oidc_provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]
//
// Issuer http://127.0.0.1:PORT, one confidential client ("lincah", secret
// "lincah-test-secret") allowed to redirect to the given URIs, PKCE required, and test
// users with passwords. The interaction pages are plain HTML forms the test drives
// over HTTP: POST /interaction/:uid/login (login, password), then
// POST /interaction/:uid/confirm (consent). Prints "ready" once it listens.
// OIDC_TEST_SIGNING_JWK (a private RSA JWK as JSON) sets the ID-token signing key, so a
// test can also sign tokens of its own with the provider's key; default: a fresh key.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const [port, ...redirectUris] = process.argv.slice(2);
if (!port || redirectUris.length === 0) {
  console.error('usage: node oidc_provider.mjs PORT REDIRECT_URI [REDIRECT_URI ...]');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const USERS = {
  siti: {
    password: 'siti-secret', email: 'siti@example.id', email_verified: true, nik: '3510154808900003',
  },
  budi: {
    password: 'budi-secret', email: 'budi@banyuwangikab.go.id', email_verified: true, nik: '3510151203850001',
  },
  joko: {
    password: 'joko-secret', email: 'joko@example.id', email_verified: false, nik: '3510150101900001',
  },
};

function freshKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}
const signingKey = process.env.OIDC_TEST_SIGNING_JWK
  ? JSON.parse(process.env.OIDC_TEST_SIGNING_JWK)
  : freshKey();

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'lincah',
    client_secret: 'lincah-test-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['oidc-provider-test-cookie-key'] },
  pkce: { required: () => true, methods: ['S256'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], nik: ['nik'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: user.email_verified, nik: user.nik };
      },
    };
  },
});

const form = (action, fields) => `<!doctype html><form method="post" action="${action}">${fields}</form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

// The interaction pages; everything else is the provider's own.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html');
    res.end(prompt.name === 'login'
      ? form(`/interaction/${uid}/login`, '<input name="login"><input name="password" type="password">')
      : form(`/interaction/${uid}/confirm`, '<button>Allow</button>'));
    return;
  }
  if (action === 'login') {
    const { login, password } = await readForm(req);
    const user = USERS[login];
    if (!user || user.password !== password) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html');
      res.end(form(`/interaction/${uid}/login`, '<p>wrong login or password</p>'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.statusCode = 404;
  res.end();
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|confirm))?(?:\?.*)?$/.exec(req.url);
  if (!match) return handle(req, res);
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (err) {
    res.statusCode = 400;
    res.end(String(err));
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
