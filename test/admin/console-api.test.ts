import type { AuditEvent, Encounter, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRepository } from '../../src/compose';
import { upsertRegistry } from '../../src/subscriptions/registry.pg';
import type { IntakeCapability } from '../../src/intake';
import { adt, HOSPITAL, PNR_SALA, PNR_VASTERAS } from '../mapping/adt-builder';
import type { Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';
import { openAdminShell } from './admin-shell';

describe.each(testDatabases())('admin console API on %s', (kind) => {
  let shell: Shell;
  let cookie: string;
  const tokens: Record<string, string> = {};
  const get = (path: string) => request(shell.gateway.app).get(path).set('Cookie', cookie);

  beforeAll(async () => {
    ({ shell, cookie } = await openAdminShell(kind));
    for (const id of ['demo-vasteras', 'demo-sala', 'demo-vc-skultuna']) {
      const t = await request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, `${id}-secret`)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      tokens[id] = t.body.access_token as string;
    }
  });
  afterAll(async () => shell.close());

  it('when messages are searched by time range, visit number and personnummer, then only the matching ones come back', async () => {
    const rows: [string, string, string, string][] = [
      ['C-1', '2026-03-01T08:00:00Z', 'VISIT-7', PNR_VASTERAS],
      ['C-2', '2026-03-02T08:00:00Z', 'VISIT-70', PNR_SALA],
      ['C-3', '2026-03-03T08:00:00Z', 'VISIT-8', PNR_VASTERAS.slice(0, 8) + '-' + PNR_VASTERAS.slice(8)],
    ];
    for (const [control, at, visit, pnr] of rows) {
      await shell.db.query(
        `INSERT INTO hl7_message (sender, control_id, event, raw, channel, received_at, status)
         VALUES ('EHR/SE2321000172-DEMO0001', $1, 'A01', $2, 'http', $3, 'accepted')`,
        [control, adt({ event: 'A01', control, visit, pnr }), at],
      );
    }
    const ids = async (q: string) =>
      ((await get(`/admin/api/hl7/messages?${q}`).expect(200)).body.messages as { controlId: string }[])
        .map((m) => m.controlId)
        .sort();
    expect(await ids('visit=VISIT-7')).toEqual(['C-1']);
    expect(await ids(`pnr=${PNR_VASTERAS}`)).toEqual(['C-1', 'C-3']);
    expect(await ids(`pnr=${PNR_VASTERAS.slice(0, 8)}-${PNR_VASTERAS.slice(8)}`)).toEqual(['C-1', 'C-3']);
    expect(await ids('from=2026-03-01T12:00:00Z&to=2026-03-03T00:00:00Z')).toEqual(['C-2']);
    expect(await ids(`from=2026-03-01T00:00:00Z&pnr=${PNR_SALA}`)).toEqual(['C-2']);
    // the sender as stored (MSH-3/MSH-4) or its application alone (MSH-3): the list shows only the organisation's name
    expect(await ids('sender=EHR/SE2321000172-DEMO0001&from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z')).toEqual([
      'C-1',
      'C-2',
      'C-3',
    ]);
    expect(await ids('sender=EHR&from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z')).toEqual(['C-1', 'C-2', 'C-3']);
    expect(await ids('sender=EH&from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z')).toEqual([]);
    const bad = await get('/admin/api/hl7/messages?pnr=12345');
    expect(bad.status).toBe(400);
    expect((await get('/admin/api/hl7/messages?visit=x%27%20OR%201=1')).status).toBe(400);
  });

  it('when a hospital sends a message, then the list names the sending organisation and shows PV1-19, not the stay id', async () => {
    const ehr = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('demo-ehr', 'demo-ehr-secret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    await request(shell.gateway.app)
      .post('/hl7v2')
      .auth(ehr.body.access_token as string, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(adt({ event: 'A01', control: 'NAMED-1', visit: 'VISIT-NAMED-1' }))
      .expect(200);
    await (shell.gateway.capabilities.find((c) => c.name === 'intake') as IntakeCapability).settled();
    // A COSMIC sender writes its facility as a local code: the profile maps it to the hospital's HSA-id.
    await shell.db.query(
      `INSERT INTO hl7_message (sender, control_id, event, raw, channel, status)
       VALUES ('COSMIC/VSV', 'NAMED-2', 'A01', $1, 'mllp', 'rejected')`,
      [adt({ event: 'A01', control: 'NAMED-2', app: 'COSMIC', facility: 'VSV', visit: 'VISIT-NAMED-2' })],
    );
    const list = (await get('/admin/api/hl7/messages?limit=5').expect(200)).body.messages as Record<string, unknown>[];
    const one = list.find((m) => m.controlId === 'NAMED-1')!;
    expect(one).toMatchObject({
      sender: `EHR/${HOSPITAL}`,
      senderName: 'Västmanlands sjukhus Västerås',
      senderOrganization: 'Organization/vastmanlands-sjukhus-vasteras',
      visitNumber: 'VISIT-NAMED-1',
      status: 'accepted',
    });
    expect(one.stayId).toMatch(/^hl7-/);
    expect(one.raw).toBeUndefined();
    expect(list.find((m) => m.controlId === 'NAMED-2')).toMatchObject({
      senderName: 'Västmanlands sjukhus Västerås',
      visitNumber: 'VISIT-NAMED-2',
    });
    const detail = (await get(`/admin/api/hl7/messages/${String(one.id)}`).expect(200)).body;
    expect(detail).toMatchObject({ senderName: 'Västmanlands sjukhus Västerås', visitNumber: 'VISIT-NAMED-1' });
    expect(detail.raw).toContain('VISIT-NAMED-1');
  });

  it('when the admin searches messages by personnummer, then the view is audited without the personnummer', async () => {
    await get(`/admin/api/hl7/messages?pnr=${PNR_SALA}&status=accepted`).expect(200);
    await shell.gateway.audit!.flush();
    const events = (
      await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '200', _sort: '-date' })
    ).resources;
    const mine = events.filter((e) => e.entity?.[0]?.description?.includes('/admin/api/hl7/messages'));
    // this request's event (an earlier test searched by personnummer too; one audit batch may hold both)
    const withPnr = mine.find((e) => /pnr=\*\*\*.*status=accepted/.test(e.entity?.[0]?.description ?? ''));
    expect(withPnr).toBeDefined();
    expect(withPnr!.agent[0]!.who?.identifier?.value).toBe('demo-admin');
    expect(JSON.stringify(events)).not.toContain(PNR_SALA);
  });

  it('when four Subscriptions exist across three tenants, then the admin list shows all four with organisation names', async () => {
    const sub = (owner: string, n: number) => ({
      resourceType: 'Subscription',
      status: 'requested',
      reason: `admin list ${n}`,
      criteria: `Task?owner=${owner}`,
      channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:9/hook-${n}`, payload: 'application/fhir+json' },
    });
    const made: [string, string][] = [
      ['demo-vasteras', 'Organization/kommun-1980'],
      ['demo-vasteras', 'Organization/kommun-1980'],
      ['demo-sala', 'Organization/kommun-1981'],
      ['demo-vc-skultuna', 'Organization/vc-skultuna'],
    ];
    for (const [i, [client, owner]] of made.entries()) {
      await request(shell.gateway.app)
        .post('/fhir/Subscription')
        .auth(tokens[client]!, { type: 'bearer' })
        .set('Content-Type', 'application/fhir+json')
        .send(sub(owner, i))
        .expect(201);
    }
    const list = (await get('/admin/api/subscriptions').expect(200)).body as {
      organizationName: string;
      status: string;
      endpoint: string;
    }[];
    expect(list).toHaveLength(4);
    expect(list.map((s) => s.organizationName).sort()).toEqual([
      'Sala kommun',
      'Skultuna vårdcentral',
      'Västerås stad',
      'Västerås stad',
    ]);
    const page = await get('/admin/subscriptions').expect(200);
    expect(page.text).toContain('Prenumerationer per organisation');
  });

  it('when a Subscription stored before such criteria were refused can never match, then the admin list says why', async () => {
    const stale = {
      resourceType: 'Subscription' as const,
      id: 'stale-criteria',
      status: 'active' as const,
      reason: 'stored before 2026-12-06',
      criteria: 'Task?owner=Organization/kommun-1980&nosuch=1',
      channel: { type: 'rest-hook' as const, endpoint: 'http://127.0.0.1:9/stale' },
    };
    await upsertRegistry(shell.db, stale, { clientId: 'demo-vasteras', organization: 'Organization/kommun-1980' });
    const list = (await get('/admin/api/subscriptions').expect(200)).body as { id: string; criteriaProblem: string }[];
    expect(list.find((s) => s.id === 'stale-criteria')?.criteriaProblem).toMatch(/'nosuch' is not a search parameter/);
    expect(list.filter((s) => s.id !== 'stale-criteria').every((s) => s.criteriaProblem === null)).toBe(true);
  });

  it('when the admin browses an Encounter, then it comes with its history; a tenant client is refused', async () => {
    const repo = systemRepository(shell.db);
    const enc = await repo.create<Encounter>({
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    });
    await repo.update<Encounter>({ ...enc, status: 'finished' });
    const one = await get(`/admin/api/resources/Encounter/${enc.id}`).expect(200);
    expect(one.body.resource.status).toBe('finished');
    expect((one.body.history as { versionId: string }[]).map((h) => h.versionId)).toEqual(['2', '1']);
    const list = await get('/admin/api/resources/Encounter').expect(200);
    expect((list.body.resources as { id: string }[]).map((r) => r.id)).toContain(enc.id);
    expect((await get('/admin/api/resources/Organization')).status).toBe(404);
    const tenant = await request(shell.gateway.app)
      .get(`/admin/api/resources/Encounter/${enc.id}`)
      .auth(tokens['demo-vasteras']!, { type: 'bearer' });
    expect(tenant.status).toBe(403);
    await shell.gateway.audit!.flush();
    const audited = await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '200' });
    expect(
      audited.resources.some((e) => e.entity?.[0]?.what?.reference === `Encounter/${enc.id}` && e.action === 'R'),
    ).toBe(true);
  });

  it('when the admin browses Tasks whose owner has no display, then the list names the owners the directory names', async () => {
    const repo = systemRepository(shell.db);
    const task = (code: string, owner: string): Task => ({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { text: code },
      owner: { reference: owner },
    });
    const named = await repo.create(task('Namngiven ägare', 'Organization/kommun-1980'));
    const ghost = await repo.create(task('Okänd ägare', 'Organization/ghost-owner'));
    const list = await get(`/admin/api/resources/Task?_id=${named.id},${ghost.id}`).expect(200);
    expect((list.body.resources as Task[]).map((t) => t.id).sort()).toEqual([named.id, ghost.id].sort());
    expect(list.body.organizationNames).toEqual({ 'Organization/kommun-1980': 'Västerås stad' });
  });

  it('when the admin opens the overview and /metrics, then the deadline timers queue is listed beside delivery', async () => {
    const ov = await get('/admin/api/overview').expect(200);
    expect((ov.body.queues as { queue: string }[]).map((q) => q.queue)).toContain('deadline-timers');
    const metrics = await request(shell.gateway.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/svu_queue_depth\{queue="deadline-timers",state="delayed"\} \d+/);
  });

  it('when every console page is opened in English, then each one is served with the whole navigation', async () => {
    for (const path of [
      '/admin',
      '/admin/delivery',
      '/admin/hl7',
      '/admin/subscriptions',
      '/admin/resources',
      '/admin/sessions',
    ]) {
      const page = await get(`${path}?lang=en`).expect(200);
      expect(page.text).toContain('<html lang="en">');
      for (const nav of ['overview', 'delivery', 'hl7', 'subscriptions', 'resources', 'queues', 'sessions']) {
        expect(page.text).toContain(`data-nav="${nav}"`);
      }
    }
  });

  it('when the admin opens the case page of an id that names no stay, then a page says so (404), not the API’s JSON', async () => {
    const res = await get('/admin/cases/no-such-stay<b>').expect(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Det finns inget vårdtillfälle med id <code>no-such-stay&lt;b&gt;</code>');
    expect(res.text).not.toContain('OperationOutcome');
  });
});
