import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import { SignJWT, exportJWK, generateKeyPair, decodeJwt, type CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';
import { saveClient } from '../../src/auth/client-store';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token.service';
import { ManualClock } from '../../src/platform/clock';
import { testDatabases } from '../support/db';
import { openShell, TEST_BASE_URL, type Shell } from '../http/shell-fixture';

const TOKEN_URL = `${TEST_BASE_URL}/auth/token`;

describe.each(testDatabases())('token endpoint on %s', (kind) => {
  let shell: Shell;
  let clock: ManualClock;
  let keyPrivate: CryptoKey;
  let otherPrivate: CryptoKey;

  beforeAll(async () => {
    clock = new ManualClock(new Date());
    shell = await openShell({ kind, clock, audit: false });
    const kp = await generateKeyPair('ES384');
    keyPrivate = kp.privateKey;
    otherPrivate = (await generateKeyPair('ES384')).privateKey;
    const jwk = { ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'ES384' };
    await saveClient(shell.db, {
      clientId: 'muni',
      secret: 'muni-secret',
      allowedScopes: ['system/Task.rus', 'system/Patient.rs'],
      organization: 'Organization/kommun-1980',
      role: 'municipality',
    });
    await saveClient(shell.db, {
      clientId: 'backend',
      jwks: { keys: [jwk] },
      allowedScopes: ['system/*.rs', 'system/Encounter.cu'],
      organization: 'Organization/hosp',
      role: 'hospital',
    });
  });
  afterAll(async () => shell.close());

  const app = () => shell.gateway.app;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  async function assertion(opts: { key?: CryptoKey; aud?: string; expIn?: number; jti?: string; iss?: string } = {}) {
    const now = Math.floor(clock.now().getTime() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES384', kid: 'k1' })
      .setIssuer(opts.iss ?? 'backend')
      .setSubject(opts.iss ?? 'backend')
      .setAudience(opts.aud ?? TOKEN_URL)
      .setExpirationTime(now + (opts.expIn ?? 240))
      .setJti(opts.jti ?? randomUUID())
      .sign(opts.key ?? keyPrivate);
  }

  it('when a verified token is presented again, then its context comes from the cache as a copy the caller owns', async () => {
    const auth = shell.gateway.auth;
    const { access_token: token } = await auth.issueToken(
      { grant_type: 'client_credentials' },
      basic('muni', 'muni-secret'),
    );
    const first = await auth.verifyAccessToken(token);
    const expected = structuredClone(first);
    first.scopes.push('system/*.cruds');
    first.access.role = 'admin';
    first.admin = true;
    const again = await auth.verifyAccessToken(token);
    expect(again).toEqual(expected);
    expect(again.access).toEqual({ clientId: 'muni', organization: 'Organization/kommun-1980', role: 'municipality' });
    again.scopes.length = 0;
    expect((await auth.verifyAccessToken(token)).scopes).toEqual(expected.scopes);
  });

  it('when a client authenticates with client_secret_basic, then it gets a short-lived bearer JWT', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'muni-secret'))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'system/Task.rs' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/Task.rs' });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ sub: 'muni', tenant: 'Organization/kommun-1980', role: 'municipality' });
    expect(claims.exp! - claims.iat!).toBe(300);
  });

  it('when the secret is sent in the form (client_secret_post), then it is accepted too', async () => {
    const res = await request(app())
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'muni', client_secret: 'muni-secret' });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/Task.rus system/Patient.rs');
  });

  it('when the secret is wrong, then 401 invalid_client with a Basic challenge', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'nope'))
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('when two authentication methods are used at once, then 400 invalid_request', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'muni-secret'))
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: 'muni', client_secret: 'muni-secret' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('when the grant type is not client_credentials, then 400 unsupported_grant_type', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'muni-secret'))
      .type('form')
      .send({ grant_type: 'password' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('when more scopes are requested than allowed, then the grant is narrowed to the intersection', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'muni-secret'))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'system/Task.cruds system/Encounter.rs system/*.r' });
    expect(res.status).toBe(200);
    expect(res.body.scope.split(' ').sort()).toEqual(['system/Patient.r', 'system/Task.rus']);
  });

  it('when no requested scope is allowed, then 400 invalid_scope', async () => {
    const res = await request(app())
      .post('/auth/token')
      .set('Authorization', basic('muni', 'muni-secret'))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'system/Encounter.c' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
  });

  it('when a backend service signs an ES384 assertion with its registered key, then it gets a token', async () => {
    const res = await request(app())
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'client_credentials',
        scope: 'system/Encounter.cu system/Task.rs',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await assertion(),
      });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/Encounter.cu system/Task.rs');
  });

  it('when the assertion is signed by another key, then 401 invalid_client', async () => {
    const res = await request(app())
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await assertion({ key: otherPrivate }),
      });
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/signature/);
  });

  it('when the assertion audience is not the token endpoint, then 401 invalid_client naming aud', async () => {
    const res = await request(app())
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await assertion({ aud: 'https://elsewhere.example/token' }),
      });
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/aud/);
  });

  it('when an assertion jti is replayed, then the second use is refused', async () => {
    const jti = randomUUID();
    const a = await assertion({ jti });
    const send = () =>
      request(app())
        .post('/auth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: a });
    expect((await send()).status).toBe(200);
    const again = await send();
    expect(again.status).toBe(401);
    expect(again.body.error_description).toMatch(/jti/);
  });

  it('when the assertion lives longer than 5 minutes or has expired, then it is refused', async () => {
    const long = await request(app())
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await assertion({ expIn: 3600 }),
      });
    expect(long.status).toBe(401);
    const expired = await request(app())
      .post('/auth/token')
      .type('form')
      .send({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await assertion({ expIn: -120 }),
      });
    expect(expired.status).toBe(401);
    expect(expired.body.error_description).toMatch(/expired/);
  });

  it('when the assertion type is missing, then 400 invalid_request', async () => {
    const res = await request(app())
      .post('/auth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_assertion: await assertion() });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('when the well-known documents are fetched, then they name the token endpoint and publish the signing key', async () => {
    const conf = await request(app()).get('/.well-known/smart-configuration');
    expect(conf.body.token_endpoint).toBe(TOKEN_URL);
    expect(conf.body.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    const jwks = await request(app()).get('/.well-known/jwks.json');
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
  });
});
