import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import type { Capability } from '../../src/compose.types';
import { GatewayError } from '../../src/platform/errors';
import { freePort } from '../../src/platform/redis-server';
import { saveClient } from '../../src/auth/client-store';
import { openShell, type Shell } from './shell-fixture';

const probe: Capability = {
  name: 'probe',
  mountRoutes(app) {
    app.post('/fhir/Echo', (req, res) => void res.status(201).json(req.body));
    app.get('/fhir/Boom', () => {
      throw new Error('secret internals at /srv/app.ts:12');
    });
    app.get('/fhir/Gone', () => {
      throw new GatewayError('version-conflict', 'Encounter/1 is at version 3, not 2');
    });
  },
};

describe('HTTP shell', () => {
  let shell: Shell;
  let token: string;

  beforeAll(async () => {
    shell = await openShell({ capabilities: [probe], audit: false, env: { MAX_BODY_BYTES: '2048' } });
    await saveClient(shell.db, { clientId: 'c', secret: 's', allowedScopes: ['system/*.cruds'], role: 'hospital' });
    const res = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('c', 's')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    token = res.body.access_token;
  });
  afterAll(async () => shell.close());

  it('when GET /healthz, then 200', async () => {
    expect((await request(shell.gateway.app).get('/healthz')).status).toBe(200);
  });

  it('when the database and Redis answer, then /readyz is 200', async () => {
    const res = await request(shell.gateway.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ database: 'up', redis: 'up' });
  });

  it('when a request carries X-Request-Id, then the response echoes it; otherwise one is generated', async () => {
    const a = await request(shell.gateway.app).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(a.headers['x-request-id']).toBe('abc-123');
    const b = await request(shell.gateway.app).get('/healthz').set('X-Request-Id', 'bad id with spaces');
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a body exceeds MAX_BODY_BYTES, then 413 OperationOutcome', async () => {
    const res = await request(shell.gateway.app)
      .post('/fhir/Echo')
      .auth(token, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'Basic', text: 'x'.repeat(5000) }));
    expect(res.status).toBe(413);
    expect(res.body.issue[0].code).toBe('too-long');
    expect(res.body.issue[0].diagnostics).toMatch(/2048/);
  });

  it('when a body is not JSON, then 400 OperationOutcome; a FHIR JSON body is parsed', async () => {
    const bad = await request(shell.gateway.app)
      .post('/fhir/Echo')
      .auth(token, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .send('{"resourceType":');
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    const ok = await request(shell.gateway.app)
      .post('/fhir/Echo')
      .auth(token, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'Basic' }));
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ resourceType: 'Basic' });
  });

  it('when a route is unknown, then 404 OperationOutcome', async () => {
    const res = await request(shell.gateway.app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });

  it('when a handler throws, then 500 OperationOutcome without a stack trace; GatewayErrors keep their status', async () => {
    const boom = await request(shell.gateway.app).get('/fhir/Boom').auth(token, { type: 'bearer' });
    expect(boom.status).toBe(500);
    expect(JSON.stringify(boom.body)).not.toMatch(/secret internals|app\.ts/);
    const conflict = await request(shell.gateway.app).get('/fhir/Gone').auth(token, { type: 'bearer' });
    expect(conflict.status).toBe(412);
    expect(conflict.body.issue[0]).toMatchObject({
      code: 'conflict',
      diagnostics: expect.stringContaining('version 3'),
    });
  });

  it('when GET /metrics, then Prometheus text with the request histogram', async () => {
    const res = await request(shell.gateway.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('http_request_duration_seconds');
  });
});

describe('readiness when Redis is down', () => {
  it('when Redis does not answer, then /readyz is 503 OperationOutcome naming redis', async () => {
    const port = await freePort();
    const shell = await openShell({ redisUrl: `redis://127.0.0.1:${port}`, audit: false });
    try {
      const res = await request(shell.gateway.app).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].diagnostics).toMatch(/redis/);
      expect(res.body.issue[0].diagnostics).not.toMatch(/database/);
    } finally {
      await shell.close();
    }
  });
});
