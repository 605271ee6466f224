import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import { SignJWT, generateKeyPair } from 'jose';
import type { Capability } from '../../src/compose.types';
import { saveClient } from '../../src/auth/client-store';
import { ManualClock } from '../../src/platform/clock';
import { openShell, TEST_BASE_URL, type Shell } from '../http/shell-fixture';

/** Echoes what the bearer middleware put on res.locals.auth. */
const echo: Capability = {
  name: 'echo',
  mountRoutes(app) {
    app.get('/fhir/_echo', (_req, res) => void res.json(res.locals.auth));
    app.get('/fhir/metadata', (_req, res) => void res.json({ resourceType: 'CapabilityStatement' }));
    app.get('/admin/_echo', (_req, res) => void res.json(res.locals.auth));
    app.get('/admin/delivery', (_req, res) => void res.type('html').send('<p>page</p>'));
  },
};

describe('bearer middleware', () => {
  let shell: Shell;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = new ManualClock(new Date());
    shell = await openShell({ clock, capabilities: [echo], audit: false });
    await saveClient(shell.db, {
      clientId: 'sala',
      secret: 's',
      allowedScopes: ['system/Task.rs'],
      organization: 'Organization/kommun-1981',
      role: 'municipality',
    });
    await saveClient(shell.db, {
      clientId: 'root',
      secret: 'r',
      allowedScopes: ['system/*.*'],
      organization: 'Organization/region',
      role: 'admin',
      admin: true,
    });
  });
  afterAll(async () => shell.close());

  async function token(id: string, secret: string): Promise<string> {
    const res = await request(shell.gateway.app)
      .post('/auth/token')
      .auth(id, secret)
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  }

  it('when a valid token is sent, then the request carries the client, its scopes and its tenant', async () => {
    const res = await request(shell.gateway.app)
      .get('/fhir/_echo')
      .auth(await token('sala', 's'), { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      clientId: 'sala',
      scopes: ['system/Task.rs'],
      admin: false,
      access: { clientId: 'sala', organization: 'Organization/kommun-1981', role: 'municipality' },
    });
  });

  it('when no token is sent, then 401 OperationOutcome with a Bearer challenge', async () => {
    const res = await request(shell.gateway.app).get('/fhir/_echo');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="svu-gateway"');
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe('login');
  });

  it('when GET /fhir/metadata is called without a token, then it is served', async () => {
    const res = await request(shell.gateway.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
  });

  it('when the token has expired, then 401 invalid_token saying so', async () => {
    const t = await token('sala', 's');
    clock.advance(301_000);
    try {
      const res = await request(shell.gateway.app).get('/fhir/_echo').auth(t, { type: 'bearer' });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token".*expired/);
    } finally {
      clock.advance(-301_000);
    }
  });

  it('when the token is signed by another key, then 401 invalid_token', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ scope: 'system/*.cruds', role: 'admin', adm: true })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: shell.gateway.auth.key.kid })
      .setIssuer(TEST_BASE_URL)
      .setAudience(`${TEST_BASE_URL}/fhir`)
      .setSubject('root')
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await request(shell.gateway.app).get('/admin/_echo').auth(forged, { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/signature/);
  });

  it('when the token is garbage, then 401', async () => {
    const res = await request(shell.gateway.app).get('/fhir/_echo').set('Authorization', 'Bearer not-a-jwt');
    expect(res.status).toBe(401);
  });

  it('when a non-admin calls /admin, then 403; an admin passes', async () => {
    const denied = await request(shell.gateway.app)
      .get('/admin/_echo')
      .auth(await token('sala', 's'), { type: 'bearer' });
    expect(denied.status).toBe(403);
    expect(denied.body.issue[0].code).toBe('forbidden');
    const ok = await request(shell.gateway.app)
      .get('/admin/_echo')
      .auth(await token('root', 'r'), { type: 'bearer' });
    expect(ok.status).toBe(200);
    expect(ok.body.admin).toBe(true);
    expect(ok.body.scopes).toEqual(['system/*.cruds']);
  });

  it('when a browser sends the admin token as the svu_admin_token cookie, then /admin accepts it', async () => {
    const ok = await request(shell.gateway.app)
      .get('/admin/_echo')
      .set('Cookie', `other=1; svu_admin_token=${await token('root', 'r')}`);
    expect(ok.status).toBe(200);
    const denied = await request(shell.gateway.app)
      .get('/fhir/_echo')
      .set('Cookie', `svu_admin_token=${await token('root', 'r')}`);
    expect(denied.status).toBe(401);
  });

  it('when an admin page is opened without a login, then it redirects to the login page; the data API answers 401', async () => {
    const page = await request(shell.gateway.app).get('/admin/delivery');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Fdelivery');
    expect((await request(shell.gateway.app).get('/admin/api/overview')).status).toBe(401);
    expect((await request(shell.gateway.app).get('/admin/_echo').set('Accept', 'application/json')).status).toBe(303);
  });
});
