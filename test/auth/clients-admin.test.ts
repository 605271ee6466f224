import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { saveClient } from '../../src/auth/client-store';
import { openShell, type Shell } from '../http/shell-fixture';
import { tokenByAssertion } from '../support/client-assertion';

describe('client registration by admins', () => {
  let shell: Shell;
  let adminToken: string;

  beforeAll(async () => {
    shell = await openShell({ audit: false });
    await saveClient(shell.db, {
      clientId: 'root',
      secret: 'r',
      allowedScopes: ['system/*.*'],
      role: 'admin',
      admin: true,
    });
    adminToken = (
      await request(shell.gateway.app)
        .post('/auth/token')
        .auth('root', 'r')
        .type('form')
        .send({ grant_type: 'client_credentials' })
    ).body.access_token;
  });
  afterAll(async () => shell.close());

  it('when an admin registers a client, then it can get tokens and is listed without its secret', async () => {
    const put = await request(shell.gateway.app)
      .put('/admin/api/clients/koping-kommun')
      .auth(adminToken, { type: 'bearer' })
      .send({
        secret: 'a-long-enough-secret',
        allowedScopes: ['system/Task.rus'],
        organization: 'Organization/kommun-1983',
        role: 'municipality',
      });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ clientId: 'koping-kommun', authMethods: ['client_secret_basic'] });
    const tok = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('koping-kommun', 'a-long-enough-secret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(tok.status).toBe(200);
    const list = await request(shell.gateway.app).get('/admin/api/clients').auth(adminToken, { type: 'bearer' });
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|a-long-enough-secret/);

    const forbidden = await request(shell.gateway.app)
      .get('/admin/api/clients')
      .auth(tok.body.access_token, { type: 'bearer' });
    expect(forbidden.status).toBe(403);
  });

  it('when a registration is invalid, then 400 OperationOutcome naming the field', async () => {
    const res = await request(shell.gateway.app)
      .put('/admin/api/clients/bad')
      .auth(adminToken, { type: 'bearer' })
      .send({ secret: 'short', allowedScopes: ['everything'], organization: 'kommun', role: 'king' });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body)).toMatch(/organization/);
  });

  it('when an admin changes a client without sending a secret, then it keeps its secret; a new one replaces it; a new client without one is refused', async () => {
    const put = (id: string, body: Record<string, unknown>) =>
      request(shell.gateway.app)
        .put(`/admin/api/clients/${id}`)
        .auth(adminToken, { type: 'bearer' })
        .send({
          allowedScopes: ['system/Task.rus'],
          organization: 'Organization/kommun-1984',
          role: 'municipality',
          ...body,
        });
    const token = (id: string, secret: string) =>
      request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, secret)
        .type('form')
        .send({ grant_type: 'client_credentials' });
    await put('kungsor-kommun', { secret: 'the-first-long-secret' }).expect(201);
    // the GET shows no secret, so what an admin sends back after changing the rights holds none
    const changed = await put('kungsor-kommun', { allowedScopes: ['system/Task.rus', 'system/Patient.rs'] }).expect(
      200,
    );
    expect(changed.body).toMatchObject({ authMethods: ['client_secret_basic'] });
    expect((await token('kungsor-kommun', 'the-first-long-secret')).status).toBe(200);
    // rotation
    await put('kungsor-kommun', { secret: 'the-second-long-secret' }).expect(200);
    expect((await token('kungsor-kommun', 'the-first-long-secret')).status).toBe(401);
    expect((await token('kungsor-kommun', 'the-second-long-secret')).status).toBe(200);
    // disabled without knowing (or changing) the secret
    await put('kungsor-kommun', { disabled: true }).expect(200);
    expect((await token('kungsor-kommun', 'the-second-long-secret')).status).toBe(401);
    const none = await put('arboga-kommun', {});
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body)).toContain('a client needs a secret or a jwks');
  });

  it('when a client is disabled, then it gets no new tokens', async () => {
    await request(shell.gateway.app)
      .put('/admin/api/clients/koping-kommun')
      .auth(adminToken, { type: 'bearer' })
      .send({
        secret: 'a-long-enough-secret',
        allowedScopes: ['system/Task.rus'],
        organization: 'Organization/kommun-1983',
        role: 'municipality',
        disabled: true,
      })
      .expect(200);
    const tok = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('koping-kommun', 'a-long-enough-secret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(tok.status).toBe(401);
  });

  it('when an admin registers a JWKS holding a private key, a symmetric key or a key that is no key, then 400 names the key and the reason, and nothing is stored or echoed', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
    const priv = { ...(await exportJWK(privateKey)), kid: 'k1' };
    const pub = { ...(await exportJWK(publicKey)), kid: 'k1' };
    const put = (jwks: unknown) =>
      request(shell.gateway.app)
        .put('/admin/api/clients/leaky')
        .auth(adminToken, { type: 'bearer' })
        .send({
          jwks,
          allowedScopes: ['system/Task.rus'],
          organization: 'Organization/kommun-1980',
          role: 'municipality',
        });
    const diagnostics = (res: request.Response) =>
      (res.body.issue as { diagnostics: string }[]).map((i) => i.diagnostics).join('; ');
    const cases: [unknown, string][] = [
      [{ keys: [pub, priv] }, 'jwks.keys[1] holds private key material (d)'],
      [{ keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }] }, 'jwks.keys[0] holds private key material (k)'],
      [{ keys: [{ kty: 'RSA', n: 'AQAB' }] }, 'jwks.keys[0] is not a valid RSA public key'],
      [{ keys: [{ ...pub, x: 'AAAA' }] }, 'jwks.keys[0] is not a valid EC public key'],
      [{ keys: [{ ...pub, alg: 'ES256' }] }, 'jwks.keys[0] alg must be RS384 or ES384 when given'],
      [{ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }] }, 'jwks.keys[0] kty must be RSA or EC'],
      [pub, 'jwks must be a JWK Set: {"keys": [public keys]}'],
    ];
    for (const [jwks, reason] of cases) {
      const res = await put(jwks);
      expect(res.status, reason).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(diagnostics(res)).toContain(reason);
      expect(JSON.stringify(res.body)).not.toContain(String(priv.d));
    }
    await request(shell.gateway.app).get('/admin/api/clients/leaky').auth(adminToken, { type: 'bearer' }).expect(404);
  });

  it('when an admin registers a client with a public JWKS and later replaces it, then it gets tokens by a signed assertion with the current key only', async () => {
    const keyPair = async (kid: string) => {
      const kp = await generateKeyPair('ES384');
      return { privateKey: kp.privateKey, jwk: { ...(await exportJWK(kp.publicKey)), kid, alg: 'ES384', use: 'sig' } };
    };
    const [first, second] = [await keyPair('2026-a'), await keyPair('2026-b')];
    const put = (jwk: unknown) =>
      request(shell.gateway.app)
        .put('/admin/api/clients/backend-jwt')
        .auth(adminToken, { type: 'bearer' })
        .send({
          jwks: { keys: [jwk] },
          allowedScopes: ['system/Task.rus'],
          organization: 'Organization/kommun-1980',
          role: 'municipality',
        });
    const token = (key: { privateKey: CryptoKey; jwk: { kid: string } }) =>
      tokenByAssertion(shell.gateway.app, 'backend-jwt', key.privateKey, key.jwk.kid);
    expect((await put(first.jwk)).body).toMatchObject({ authMethods: ['private_key_jwt'] });
    expect((await token(first)).status).toBe(200);
    await put(second.jwk).expect(200);
    expect((await token(first)).status).toBe(401);
    expect((await token(second)).status).toBe(200);
  });
});
