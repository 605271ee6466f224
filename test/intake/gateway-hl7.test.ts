import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRepository } from '../../src/compose';
import type { IntakeCapability } from '../../src/intake';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { adt, OBX } from '../mapping/adt-builder';
import { openShell, type Shell } from '../http/shell-fixture';
import { uniquePrefix } from '../support/redis';

describe('HL7 v2 through the composed gateway (demo region)', () => {
  let shell: Shell;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    shell = await openShell({ full: true, env: { QUEUE_PREFIX: uniquePrefix(), MLLP_PORT: '0' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const c of shell.gateway.capabilities) await c.start?.(new Set(['api'] as const));
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-sala']) {
      const res = await request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, `${id}-secret`)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      tokens[id] = res.body.access_token;
    }
  });
  afterAll(async () => shell.close());

  it('when demo-ehr posts an A01 to /hl7v2, then AA; Västerås sees its inskrivningsmeddelande, Sala does not, and demo-ehr reads the Encounter', async () => {
    const app = shell.gateway.app;
    const msg = adt({
      event: 'A01',
      visit: 'GW-1',
      control: 'GW-1',
      municipality: '1980',
      obx: [OBX.needs('socialtjanst'), OBX.consent('ja')],
    });
    const posted = await request(app)
      .post('/hl7v2')
      .auth(tokens['demo-ehr']!, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(msg);
    expect(posted.status).toBe(200);
    expect(posted.text).toContain('MSA|AA|GW-1');
    // AA means stored; the apply follows right after.
    await (shell.gateway.capabilities.find((c) => c.name === 'intake') as IntakeCapability).settled();

    const seen = await request(app)
      .get('/fhir/Task?code=inskrivningsmeddelande')
      .auth(tokens['demo-vasteras']!, { type: 'bearer' });
    expect(seen.status).toBe(200);
    const tasks = ((seen.body as Bundle).entry ?? []).map((e) => e.resource as Task);
    expect(tasks.some((t) => t.owner?.reference === 'Organization/kommun-1980')).toBe(true);
    const encRef = tasks[0]?.encounter?.reference ?? '';

    const sala = await request(app)
      .get('/fhir/Task?code=inskrivningsmeddelande')
      .auth(tokens['demo-sala']!, { type: 'bearer' });
    expect(((sala.body as Bundle).entry ?? []).length).toBe(0);

    const enc = await request(app).get(`/fhir/${encRef}`).auth(tokens['demo-ehr']!, { type: 'bearer' });
    expect(enc.status).toBe(200);
    expect((enc.body as Encounter).serviceProvider?.reference).toBe('Organization/vastmanlands-sjukhus-vasteras');
  });

  it('when demo-ehr sends a stay of another hospital, then AE forbidden and nothing is applied', async () => {
    const msg = adt({ event: 'A01', visit: 'GW-2', control: 'GW-2', facility: 'SE2321000172-DEMO9999' });
    const r = await request(shell.gateway.app)
      .post('/hl7v2')
      .auth(tokens['demo-ehr']!, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(msg);
    expect(r.text).toContain('MSA|AE|GW-2');
    expect(r.text).toContain('forbidden');
    // The ACK names the sending client's organisation by name, not by its reference.
    expect(r.text).toContain("not the sending client's organisation, Västmanlands sjukhus Västerås");
    expect(r.text).not.toContain('Organization/');
    const row = await shell.db.query<{ status: string }>('SELECT status FROM hl7_message WHERE control_id = $1', [
      'GW-2',
    ]);
    expect(row.rows[0]?.status).toBe('rejected');
    // A hospital the directory knows is named too, with the HSA-id the sender writes.
    await systemRepository(shell.db).update({
      resourceType: 'Organization',
      id: 'koping-lasarett',
      name: 'Köpings lasarett',
      identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0002' }],
    });
    const named = await request(shell.gateway.app)
      .post('/hl7v2')
      .auth(tokens['demo-ehr']!, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(adt({ event: 'A01', visit: 'GW-3', control: 'GW-3', facility: 'SE2321000172-DEMO0002' }));
    expect(named.text).toContain(
      "the message is for Köpings lasarett (HSA-id SE2321000172-DEMO0002), which is not the sending client's organisation, Västmanlands sjukhus Västerås",
    );
  });

  it('when the HL7 message page is opened without a login, then it redirects to the login; its data API answers 401', async () => {
    const page = await request(shell.gateway.app).get('/admin/hl7');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Fhl7');
    expect((await request(shell.gateway.app).get('/admin/api/hl7/messages')).status).toBe(401);
    const admin = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('demo-admin', 'demo-admin-secret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    const list = await request(shell.gateway.app)
      .get('/admin/api/hl7/messages?status=rejected')
      .auth(admin.body.access_token as string, { type: 'bearer' });
    expect(list.status).toBe(200);
  });

  it('when a client without Encounter write scope posts, then 403', async () => {
    const r = await request(shell.gateway.app)
      .post('/hl7v2')
      .auth(tokens['demo-vasteras']!, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(adt({ event: 'A01' }));
    expect(r.status).toBe(403);
  });
});
