// A standards-conformant OpenID Connect provider for the console's tests and for
// trying the console locally: npm's oidc-provider (certified by the OpenID
// Foundation) with one public client (PKCE required) and a few people in groups.
// Its dev login form takes any password; the people are the fixed ones below.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'gdpr-erasure-console';

/** People, by login: their groups say what the console lets them do. */
export const PEOPLE = {
  maeve: { name: 'Maeve Brennan', email: 'maeve.brennan@brightwater.example', groups: ['DPO'] },
  siobhan: { name: 'Siobhan Kelly', email: 'siobhan.kelly@brightwater.example', groups: ['DPO'] },
  aidan: { name: 'Aidan Ryan', email: 'aidan.ryan@brightwater.example', groups: ['Auditor'] },
  visitor: { name: 'Visiting Sales', email: 'sales@brightwater.example', groups: ['Sales'] },
};

/** A fresh RSA signing key as a private JWK (the test signs its own tokens with it). */
export function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/** Starts the provider on 127.0.0.1; resolves to { issuer, key, close() }. */
export async function startProvider({ port = 0, redirectUri, key = signingKey() }) {
  const server = (await import('node:http')).createServer();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email'], groups: ['groups'] },
    // Scope claims in the ID token itself: the console reads groups from it.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomUUID()] },
    async findAccount(_ctx, id) {
      const person = PEOPLE[id];
      if (!person) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...person }) };
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err.message));
  server.on('request', provider.callback());
  return {
    issuer,
    key,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// `node provider.mjs [port] [redirect uri]`: a provider for `make console`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] || 8089);
  const redirectUri = process.argv[3] || 'http://127.0.0.1:8088/auth/callback';
  const p = await startProvider({ port, redirectUri });
  console.log(`oidc-provider: issuer ${p.issuer}; people: ${Object.keys(PEOPLE).join(', ')} (any password)`);
}
