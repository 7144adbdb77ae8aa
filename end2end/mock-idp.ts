import { createHash, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const IDP_CLIENT_ID = 'portcullis-e2e';

/// A small OpenID Connect provider for the browser tests: discovery, an authorization page
/// with one button (the person signs in as whoever the page names), a token endpoint that
/// checks the client, the single-use code and the PKCE verifier, and RS256 ID tokens whose key
/// the JWKS publishes.
export async function startMockIdp(clientSecret: string): Promise<{ url: string; close: () => Promise<void> }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'e2e', use: 'sig', alg: 'RS256' };
  const codes = new Map<string, { nonce: string; challenge: string; redirect: string; email: string }>();
  let issuer = '';
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  const sign = (claims: object) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'e2e' }));
    const body = b64url(JSON.stringify(claims));
    const signature = createSign('RSA-SHA256').update(`${head}.${body}`).sign(privateKey);
    return `${head}.${body}.${b64url(signature)}`;
  };
  const json = (res: http.ServerResponse, status: number, value: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', issuer);
      const q = url.searchParams;
      if (url.pathname === '/.well-known/openid-configuration') {
        json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      } else if (url.pathname === '/jwks') {
        json(res, 200, { keys: [jwk] });
      } else if (url.pathname === '/authorize') {
        if (q.get('client_id') !== IDP_CLIENT_ID || q.get('code_challenge_method') !== 'S256') {
          json(res, 400, { error: 'invalid_request' });
          return;
        }
        // The "login page": one button that signs in as sam@example.com.
        const approve = new URL('/approve', issuer);
        q.forEach((v, k) => approve.searchParams.set(k, v));
        res.setHeader('content-type', 'text/html');
        res.end(`<!doctype html><title>Mock ID</title><h1>Mock ID</h1>
          <a href="${approve.toString().replace(/&/g, '&amp;')}">Continue as sam@example.com</a>`);
      } else if (url.pathname === '/approve') {
        const code = b64url(randomBytes(16));
        codes.set(code, {
          nonce: q.get('nonce') ?? '', challenge: q.get('code_challenge') ?? '',
          redirect: q.get('redirect_uri') ?? '', email: 'sam@example.com',
        });
        const back = new URL(q.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        res.statusCode = 302;
        res.setHeader('location', back.toString());
        res.end();
      } else if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        const expected = `Basic ${Buffer.from(`${IDP_CLIENT_ID}:${clientSecret}`).toString('base64')}`;
        if (req.headers.authorization !== expected) { json(res, 401, { error: 'invalid_client' }); return; }
        const code = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (!code || code.redirect !== form.get('redirect_uri') || verifier !== code.challenge) {
          json(res, 400, { error: 'invalid_grant' });
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        json(res, 200, {
          access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 300,
          id_token: sign({
            iss: issuer, aud: IDP_CLIENT_ID, sub: 'e2e-sam', iat: now, exp: now + 300, nonce: code.nonce,
            email: code.email, email_verified: true, preferred_username: 'sam', name: 'Sam Example',
          }),
        });
      } else {
        json(res, 404, { error: 'not_found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: issuer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
