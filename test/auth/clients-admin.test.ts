import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import { saveClient } from '../../src/auth/client-store';
import { openShell, type Shell } from '../http/shell-fixture';

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
});
