import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import request from 'supertest';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Capability } from '../../src/compose.types';
import { systemRepository } from '../../src/compose';
import { saveClient } from '../../src/auth/client-store';
import { buildAuditEvent } from '../../src/audit/audit-event';
import { sendJson } from '../../src/fhir-api/http-util';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from './shell-fixture';

const fakeFhir: Capability = {
  name: 'fake-fhir',
  mountRoutes(app) {
    app.get('/fhir/Patient/:id', (req, res) => {
      if (req.params.id === 'p1') res.json({ resourceType: 'Patient', id: 'p1' });
      else res.status(404).json({ resourceType: 'OperationOutcome', issue: [] });
    });
    app.get('/fhir/Patient', (_req, res) => void res.json({ resourceType: 'Bundle', type: 'searchset' }));
    app.get('/fhir/Encounter', (_req, res) =>
      sendJson(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          { resource: { resourceType: 'Encounter', id: 'e1', subject: { reference: 'Patient/b' } } },
          { resource: { resourceType: 'Patient', id: 'a' } },
        ],
      }),
    );
    app.post('/fhir/Encounter', (_req, res) => {
      res.status(201).location('/fhir/Encounter/e9/_history/1').json({ resourceType: 'Encounter', id: 'e9' });
    });
  },
};

describe.each(testDatabases())('audit of /fhir calls on %s', (kind) => {
  let shell: Shell;
  let token: string;

  beforeAll(async () => {
    shell = await openShell({ kind, capabilities: [fakeFhir] });
    await saveClient(shell.db, {
      clientId: 'demo-sala',
      secret: 's',
      allowedScopes: ['system/*.cruds'],
      organization: 'Organization/kommun-1981',
      role: 'municipality',
    });
    token = (
      await request(shell.gateway.app)
        .post('/auth/token')
        .auth('demo-sala', 's')
        .type('form')
        .send({ grant_type: 'client_credentials' })
    ).body.access_token;
  });
  afterAll(async () => shell.close());

  async function auditEvents(): Promise<AuditEvent[]> {
    await shell.gateway.audit!.flush();
    return (
      await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '100', _sort: '-_lastUpdated' })
    ).resources;
  }

  it('when a client reads a resource, then an AuditEvent names the client, its tenant, the entity and success', async () => {
    const res = await request(shell.gateway.app)
      .get('/fhir/Patient/p1')
      .auth(token, { type: 'bearer' })
      .set('X-Request-Id', 'rq-read');
    expect(res.status).toBe(200);
    const e = (await auditEvents()).find((a) => a.source.site === 'request-id:rq-read');
    expect(e).toMatchObject({
      action: 'R',
      outcome: '0',
      subtype: [{ code: 'read' }],
      // the resource read, then the patient it exposed (role 1 = Patient) for log review
      entity: [{ what: { reference: 'Patient/p1' } }, { what: { reference: 'Patient/p1' }, role: { code: '1' } }],
      source: { observer: { display: 'svu-gateway' } },
    });
    expect(e!.agent[0]!.who!.identifier!.value).toBe('demo-sala');
    expect(e!.agent[1]!.who!.reference).toBe('Organization/kommun-1981');
  });

  it('when an answer is sent by sendJson, then the patients it exposed are named from its value, without parsing the text back', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      let text = '';
      const res = await request(shell.gateway.app)
        .get('/fhir/Encounter')
        .auth(token, { type: 'bearer' })
        .set('X-Request-Id', 'rq-sendjson')
        // the answer's text as it is (supertest would parse it here, in this process)
        .parse((r, done) => {
          r.setEncoding('utf8');
          r.on('data', (c: string) => (text += c));
          r.on('end', () => done(null, text));
        });
      expect(res.status).toBe(200);
      expect(text).toContain('Patient/b');
      expect(parse.mock.calls.filter(([t]) => t === text)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
    const e = (await auditEvents()).find((a) => a.source.site === 'request-id:rq-sendjson');
    expect(e?.entity?.filter((x) => x.role?.code === '1').map((x) => x.what?.reference)).toEqual([
      'Patient/a',
      'Patient/b',
    ]);
  });

  it('when a call is refused (401, 404), then it is audited with outcome 4', async () => {
    await request(shell.gateway.app).get('/fhir/Patient/p2').set('X-Request-Id', 'rq-401');
    await request(shell.gateway.app)
      .get('/fhir/Patient/p2')
      .auth(token, { type: 'bearer' })
      .set('X-Request-Id', 'rq-404');
    const events = await auditEvents();
    const unauth = events.find((a) => a.source.site === 'request-id:rq-401');
    expect(unauth).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 401' });
    expect(unauth!.agent[0]!.who!.identifier!.value).toBe('unauthenticated');
    expect(events.find((a) => a.source.site === 'request-id:rq-404')).toMatchObject({
      outcome: '4',
      outcomeDesc: 'HTTP 404',
    });
  });

  it('when a create succeeds, then the AuditEvent has action C and the created reference', async () => {
    await request(shell.gateway.app)
      .post('/fhir/Encounter')
      .auth(token, { type: 'bearer' })
      .set('X-Request-Id', 'rq-create')
      .send({ resourceType: 'Encounter' });
    const e = (await auditEvents()).find((a) => a.source.site === 'request-id:rq-create');
    expect(e).toMatchObject({ action: 'C', outcome: '0', entity: [{ what: { reference: 'Encounter/e9' } }] });
  });

  it('when a search names a personnummer or a name, then the audit query keeps neither', async () => {
    await request(shell.gateway.app)
      .get('/fhir/Patient')
      .query({
        identifier: 'http://electronichealth.se/identifier/personnummer|191212121212',
        family: 'Tolvansson',
        _count: '5',
      })
      .auth(token, { type: 'bearer' })
      .set('X-Request-Id', 'rq-search');
    const e = (await auditEvents()).find((a) => a.source.site === 'request-id:rq-search');
    expect(e?.action).toBe('E');
    const text = Buffer.from(e!.entity![0]!.query!, 'base64').toString('utf8');
    expect(text).toContain('_count=5');
    expect(text).not.toMatch(/191212121212|Tolvansson/);
    expect(JSON.stringify(e)).not.toMatch(/191212121212|Tolvansson/);
  });

  it('when GET /fhir/metadata is called, then nothing is audited', async () => {
    const before = (await auditEvents()).length;
    await request(shell.gateway.app).get('/fhir/metadata');
    expect((await auditEvents()).length).toBe(before);
  });
});

describe('audit event builder', () => {
  const base = 'https://svu-gateway.dev/fhir';
  const at = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['GET', '/Encounter/1/_history/2', 'vread', 'R', 'Encounter/1/_history/2'],
    ['PUT', '/Encounter/1', 'update', 'U', 'Encounter/1'],
    ['DELETE', '/Task/7', 'delete', 'D', 'Task/7'],
    ['POST', '/', 'transaction', 'E', undefined],
    ['GET', '/Subscription/s1/$status', 'operation', 'E', 'Subscription/s1'],
  ])('when %s %s, then subtype %s and action %s', (method, path, subtype, action, what) => {
    const e = buildAuditEvent({ method, path, query: {}, status: 200, recorded: at }, base);
    expect(e.subtype?.[0]?.code).toBe(subtype);
    expect(e.action).toBe(action);
    expect(e.entity?.[0]?.what?.reference).toBe(what);
  });

  it('when an Organization is searched by kommunkod, then the code stays readable', () => {
    const e = buildAuditEvent(
      { method: 'GET', path: '/Organization', query: { identifier: '1980' }, status: 200, recorded: at },
      base,
    );
    expect(e.entity?.[0]?.description).toBe('Organization?identifier=1980');
  });
});
