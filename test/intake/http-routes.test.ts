import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/auth/auth-context';
import { adt, OBX } from '../mapping/adt-builder';
import { intakeHarness, type IntakeHarness } from './harness';

/** The shell puts bearer auth on /hl7v2 and /admin; here a header stands in for a verified token. */
function appWith(h: IntakeHarness) {
  const app = express();
  app.use((req, res, next) => {
    const scopes = req.get('x-test-scopes');
    if (scopes !== undefined) {
      const auth: AuthContext = {
        clientId: 'demo-ehr',
        scopes: scopes.split(' '),
        access: { role: 'hospital' },
        admin: scopes.includes('admin'),
      };
      res.locals.auth = auth;
    }
    next();
  });
  h.intake.mountRoutes?.(app);
  return app;
}

describe('POST /hl7v2 and the admin message view', () => {
  let h: IntakeHarness;
  let app: express.Express;
  beforeAll(async () => {
    h = await intakeHarness('pglite');
    app = appWith(h);
  });
  afterAll(async () => {
    await h.close();
  });
  const post = (body: string, scopes?: string, type = 'x-application/hl7-v2+er7') => {
    const r = request(app).post('/hl7v2').set('Content-Type', type);
    if (scopes !== undefined) void r.set('x-test-scopes', scopes);
    return r.send(body);
  };

  it('when no token is given, then 401', async () => {
    expect((await post(adt({ event: 'A01' }))).status).toBe(401);
  });

  it('when the client may not write Encounters, then 403', async () => {
    expect((await post(adt({ event: 'A01' }), 'system/Task.rs')).status).toBe(403);
  });

  it('when the body is not HL7 v2 ER7, then 415', async () => {
    expect((await post('{}', 'system/Encounter.cu', 'application/json')).status).toBe(415);
  });

  it('when an A01 is posted, then 200 with the AA ACK as x-application/hl7-v2+er7', async () => {
    const r = await post(
      adt({ event: 'A01', visit: 'HTTP-1', control: 'H-1', obx: [OBX.needs('socialtjanst')] }),
      'system/Encounter.cu',
    );
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('x-application/hl7-v2+er7');
    expect(r.text).toContain('MSA|AA|H-1');
  });

  it('when a message is rejected, then the ACK carries ERR and admins find it with its reason and raw text', async () => {
    const r = await post(
      adt({ event: 'A01', visit: 'HTTP-2', control: 'H-BAD', pnr: '193803129829' }),
      'system/Encounter.cu',
    );
    expect(r.text).toContain('MSA|AE|H-BAD');
    expect(r.text).toContain('ERR|');
    const list = await request(app)
      .get('/admin/api/hl7/messages?status=rejected&include=raw')
      .set('x-test-scopes', 'admin');
    expect(list.status).toBe(200);
    const row = (
      list.body as { messages: { controlId: string; errorCode: string; raw: string; id: number; channel: string }[] }
    ).messages.find((m) => m.controlId === 'H-BAD');
    expect(row).toMatchObject({ errorCode: 'invalid-personnummer', channel: 'http' });
    expect(row?.raw).toContain('PID|');
    const one = await request(app).get(`/admin/api/hl7/messages/${row?.id}`).set('x-test-scopes', 'admin');
    expect(one.body).toMatchObject({ controlId: 'H-BAD', status: 'rejected' });
    await h.intake.settled(); // the A01 of the test before is applied after its AA
    const summary = await request(app).get('/admin/api/hl7/summary').set('x-test-scopes', 'admin');
    expect(summary.body.byStatus.rejected.count).toBeGreaterThanOrEqual(1);
    expect(summary.body.byStatus.accepted.count).toBeGreaterThanOrEqual(1);
  });

  it('when a rejected message is reprocessed after the profile was fixed, then it is applied; others are refused', async () => {
    const text = adt({
      event: 'A28',
      app: 'COSMIC',
      facility: 'VSV',
      ward: 'MED21',
      control: 'H-WARD',
      obx: ['CWE|BEHOV^Behov^99COS||SOC'],
      visit: 'HTTP-WARD',
      pidAuthority: '&1.2.752.129.2.1.3.1&ISO',
    });
    // A trigger event the profile does not have yet: the message cannot be understood (AR).
    const first = await post(text, 'system/Encounter.cu');
    expect(first.text).toContain('MSA|AR|H-WARD');
    const list = await request(app).get('/admin/api/hl7/messages?status=rejected').set('x-test-scopes', 'admin');
    const id = (list.body as { messages: { id: number; controlId: string }[] }).messages.find(
      (m) => m.controlId === 'H-WARD',
    )?.id;
    // Still unknown: processed again, rejected again.
    const again = await request(app).post(`/admin/api/hl7/messages/${id}/reprocess`).set('x-test-scopes', 'admin');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'rejected' });
    // The admin adds the code to the sender profile (as a fixed mappings/cosmic.json would after a restart).
    const cosmic = h.intake.services.profiles.find((p) => p.id === 'cosmic');
    if (!cosmic?.events.A01) throw new Error('no cosmic profile');
    cosmic.events.A28 = cosmic.events.A01;
    try {
      const fixed = await request(app).post(`/admin/api/hl7/messages/${id}/reprocess`).set('x-test-scopes', 'admin');
      expect(fixed.status).toBe(202);
      await h.intake.settled();
      const one = await request(app).get(`/admin/api/hl7/messages/${id}`).set('x-test-scopes', 'admin');
      expect(one.body).toMatchObject({ status: 'accepted', errorCode: null });
      expect((one.body as { stayId: string }).stayId).toMatch(/^hl7-/);
      // What the message produced (issue 13 / 16): the Encounter version and the Tasks it created.
      const outcome = (one.body as { outcome: { encounter?: { id: string }; tasks: { created: string[] } } }).outcome;
      expect(outcome.encounter?.id).toBe((one.body as { stayId: string }).stayId);
      expect(outcome.tasks.created.length).toBeGreaterThan(0);
      const done = await request(app).post(`/admin/api/hl7/messages/${id}/reprocess`).set('x-test-scopes', 'admin');
      expect(done.status).toBe(409);
    } finally {
      delete cosmic.events.A28;
    }
    const missing = await request(app)
      .post('/admin/api/hl7/messages/999999999/reprocess')
      .set('x-test-scopes', 'admin');
    expect(missing.status).toBe(404);
  });

  it('when a refused message was corrected under its MSH-10, then the refused one is not processed again (409 naming the correction)', async () => {
    const refused = await post(
      adt({ event: 'A01', visit: 'HTTP-FIX', control: 'H-FIX', pnr: '193803129829' }),
      'system/Encounter.cu',
    );
    expect(refused.text).toContain('MSA|AE|H-FIX');
    const corrected = await post(
      adt({
        event: 'A01',
        visit: 'HTTP-FIX',
        control: 'H-FIX',
        expected: '20260122',
        obx: [OBX.needs('socialtjanst')],
      }),
      'system/Encounter.cu',
    );
    expect(corrected.text).toContain('MSA|AA|H-FIX');
    await h.intake.settled();
    const list = await request(app).get('/admin/api/hl7/messages?status=rejected').set('x-test-scopes', 'admin');
    const old = (
      list.body as { messages: { id: number; visitNumber: string | null; controlId: string | null }[] }
    ).messages.find((m) => m.controlId === null && m.visitNumber === 'HTTP-FIX');
    expect(old).toBeDefined();
    const again = await request(app).post(`/admin/api/hl7/messages/${old?.id}/reprocess`).set('x-test-scopes', 'admin');
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toMatch(/was corrected by message \d+, sent later under the same MSH-10 H-FIX/);
    // the refused message names the one that corrected it, for the console
    const fixed = (list.body as { messages: { id: number; controlId: string | null }[] }).messages;
    const one = await request(app).get(`/admin/api/hl7/messages/${old?.id}`).set('x-test-scopes', 'admin');
    const accepted = await request(app).get('/admin/api/hl7/messages?status=accepted').set('x-test-scopes', 'admin');
    const newer = (accepted.body as { messages: { id: number; controlId: string | null }[] }).messages.find(
      (m) => m.controlId === 'H-FIX',
    );
    expect(fixed.some((m) => m.controlId === 'H-FIX')).toBe(false);
    expect(newer).toBeDefined();
    expect((one.body as { correctedBy?: number }).correctedBy).toBe(newer?.id);
  });

  it('when messages were processed, then /metrics counters show them by status and ACK', async () => {
    const text = await h.ctx.metrics.metrics();
    // Acknowledged once stored (`pending`), then applied.
    expect(text).toMatch(/svu_hl7_messages_total\{channel="http",status="pending",ack="AA"\} [1-9]/);
    expect(text).toMatch(/svu_hl7_messages_total\{channel="http",status="rejected",ack="AE"\} [1-9]/);
    expect(text).toMatch(/svu_hl7_applied_total\{status="accepted"\} [1-9]/);
    expect(text).toMatch(/svu_hl7_apply_backlog 0/);
  });
});
