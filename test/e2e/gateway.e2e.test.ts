import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import request from 'supertest';
import type { AuditEvent, Bundle, Encounter } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';

const PNR_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
const PNR = '191212121212';

function admissionBundle(encId: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:3f6d1f7e-0000-4000-8000-000000000001',
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: PNR_SYSTEM, value: PNR }],
          name: [{ family: 'Tolvansson', given: ['Tolvan'] }],
          address: [{ use: 'home', city: 'Västerås', district: '1980' }],
        },
        request: { method: 'PUT', url: `Patient?identifier=${PNR_SYSTEM}|${PNR}` },
      },
      {
        fullUrl: 'urn:uuid:3f6d1f7e-0000-4000-8000-000000000002',
        resource: {
          resourceType: 'Encounter',
          identifier: [{ system: 'urn:oid:1.2.752.29.4.19.e2e', value: encId }],
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          subject: { reference: 'urn:uuid:3f6d1f7e-0000-4000-8000-000000000001' },
          serviceProvider: { reference: 'Organization/vastmanlands-sjukhus-vasteras' },
          period: { start: '2026-11-20T08:00:00+01:00' },
        },
        request: { method: 'PUT', url: `Encounter?identifier=urn:oid:1.2.752.29.4.19.e2e|${encId}` },
      },
    ],
  };
}

describe.each(testDatabases())('gateway end to end on %s', (kind) => {
  let shell: Shell;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix() } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const c of shell.gateway.capabilities) await c.start?.(new Set(['api'] as const));
    for (const id of ['demo-ehr', 'demo-sala', 'demo-vasteras']) {
      const res = await request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, `${id}-secret`)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      expect(res.status).toBe(200);
      tokens[id] = res.body.access_token;
    }
  });
  afterAll(async () => shell.close());

  it('when demo-ehr posts a transaction Bundle, then the Encounter reads back; demo-sala cannot read it', async () => {
    const app = shell.gateway.app;
    const posted = await request(app)
      .post('/fhir')
      .auth(tokens['demo-ehr']!, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(admissionBundle('e2e-1')));
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    const resp = posted.body as Bundle;
    expect(resp.type).toBe('transaction-response');
    const location = resp.entry?.[1]?.response?.location ?? '';
    const encId = /Encounter\/([^/]+)/.exec(location)?.[1];
    expect(encId).toBeTruthy();

    const read = await request(app).get(`/fhir/Encounter/${encId}`).auth(tokens['demo-ehr']!, { type: 'bearer' });
    expect(read.status).toBe(200);
    expect((read.body as Encounter).status).toBe('in-progress');

    const foreign = await request(app).get(`/fhir/Encounter/${encId}`).auth(tokens['demo-sala']!, { type: 'bearer' });
    expect([403, 404]).toContain(foreign.status);
    expect(foreign.body.resourceType).toBe('OperationOutcome');

    const search = await request(app)
      .get('/fhir/Patient')
      .query({ identifier: `${PNR_SYSTEM}|${PNR}` })
      .auth(tokens['demo-sala']!, { type: 'bearer' });
    expect(search.status).toBe(200);
    expect(search.body.entry ?? []).toHaveLength(0);

    // Both the allowed write and the refused read are audited, without the personnummer.
    await shell.gateway.audit!.flush();
    const events = (await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '100' })).resources;
    const refused = events.find(
      (e) =>
        e.agent[0]?.who?.identifier?.value === 'demo-sala' && e.entity?.[0]?.what?.reference === `Encounter/${encId}`,
    );
    expect(refused?.outcome).toBe('4');
    expect(
      events.some((e) => e.agent[0]?.who?.identifier?.value === 'demo-ehr' && e.subtype?.[0]?.code === 'transaction'),
    ).toBe(true);
    expect(JSON.stringify(events)).not.toContain(PNR);
  });

  it('when the directory is searched by kommunkod, then any client finds the municipality', async () => {
    const res = await request(shell.gateway.app)
      .get('/fhir/Organization')
      .query({ identifier: '1981' })
      .auth(tokens['demo-sala']!, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body.entry?.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['kommun-1981']);
  });

  it('when GET /fhir/metadata without a token, then the CapabilityStatement is served', async () => {
    const res = await request(shell.gateway.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
  });
});
