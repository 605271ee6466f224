import type { CaseOverview } from '../../src/case-overview/case-overview';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Bundle, CarePlan, Encounter, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { EXTENSION, PROFILE } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { syncTask } from '../../src/deadlines/task-sync';
import { createRepository } from '../../src/store/repository.pg';
import { invitationDeadline } from '../../src/sip/invitation-deadline';
import { pdfText } from './pdf-text';
import { waitFor } from '../delivery/helpers';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  codeOf,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  sipDraft,
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from './party-client';

const focusOf = (t: Task) => t.focus?.reference ?? '';
const HSL = 'Organization/hemsjukvard-1980';
const HOME = { url: EXTENSION.homeHealthCare, valueBoolean: true };

describe('the acknowledgement deadline of a SIP invitation (our default: end of the next working day)', () => {
  it.each([
    ['a Thursday', '2026-05-07T10:00:00+02:00', '2026-05-08T21:59:59.999Z'],
    ['a Friday', '2026-05-08T15:00:00+02:00', '2026-05-11T21:59:59.999Z'],
    ['a Saturday', '2026-05-09T09:00:00+02:00', '2026-05-11T21:59:59.999Z'],
    ['the day before Christmas Eve', '2026-12-23T09:00:00+01:00', '2026-12-28T22:59:59.999Z'],
  ])('when sent on %s, then due at the end of the next working day', (_name, sent, due) => {
    expect(invitationDeadline(sent)).toBe(due);
  });
  it('when the agreement sets elapsed hours, then those apply', () => {
    const rule = { after: 'PT4H', kind: 'elapsed' as const, source: { document: 'x', section: 'y' } };
    expect(invitationDeadline('2026-05-07T10:00:00+02:00', rule)).toBe('2026-05-07T12:00:00.000Z');
  });
});

/**
 * Gävleborg, a patient who already has municipal home health care: the hospital says so over FHIR (Encounter
 * extension `home-health-care`), so the municipality's nurse is the named care contact (seed 002): its home health
 * care unit (an Organization partOf the municipality, type kommunal-hsl; demo `hemsjukvard-1980`, client
 * `demo-vasteras-hsl`) creates the SIP and invites the vårdcentral and social services; the others may not create it
 * (the hospital neither, under Gävleborg).
 * Each invitation has a deadline on the ladder, met by the acknowledgement.
 */
describe.each(testDatabases())('a Gävleborg stay with home health care on %s', (kind) => {
  let shell: Shell;
  let validator: Validator;
  const c: Record<string, PartyClient> = {};
  let encounter: Encounter;
  let plan: CarePlan;

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'gavleborg' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vasteras-hsl', 'demo-sala', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
    validator = await createValidator();
  });
  afterAll(async () => shell.close());

  const valid = (r: { meta?: { profile?: string[] } }, profile?: string) =>
    expect(validator.check(r as never, profile ?? r.meta?.profile?.[0]), JSON.stringify(r)).toEqual([]);

  it('when the hospital says the patient has home health care, then the municipality’s home health care unit must invite to the SIP', async () => {
    const bundle = admission('hsl-gavle', '191212121212', '2026-11-28T08:00:00+01:00', [...needsCD(), HOME]);
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    valid(encounter, PROFILE.encounter);
    const ready = withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' }));
    encounter = ok(await c['demo-ehr']!.put(`/fhir/Encounter/${id}`, ready)) as Encounter;
    const nurse = await c['demo-vasteras-hsl']!.tasks({ encounter: `Encounter/${id}`, code: 'kallelse-sip' });
    expect(nurse.find((t) => t.owner?.reference === HSL)?.status).toBe('requested');
    expect(nurse.find((t) => t.owner?.reference === HSL)?.owner?.display).toBe('Västerås stad, hemsjukvården');
    const muni = await c['demo-vasteras']!.tasks({ encounter: `Encounter/${id}`, code: 'kallelse-sip' });
    expect(muni.filter((t) => t.owner?.reference === VASTERAS)).toEqual([]);
    const vc = await c['demo-vc-skultuna']!.tasks({ encounter: `Encounter/${id}`, code: 'kallelse-sip' });
    expect(vc.filter((t) => t.owner?.reference === SKULTUNA)).toEqual([]);
  });

  it('when the vårdcentral, the municipality’s social services or the hospital creates the SIP, then it is refused', async () => {
    const byVc = await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS]));
    expect(byVc.status).toBe(403);
    const byMuni = await c['demo-vasteras']!.post('/fhir/CarePlan', sipDraft(encounter, VASTERAS, [SKULTUNA]));
    expect(byMuni.status).toBe(403);
    const byHospital = await c['demo-ehr']!.post('/fhir/CarePlan', sipDraft(encounter, HOSPITAL, [VASTERAS]));
    expect(byHospital.status).toBe(403);
    // the agreement by its name, not its file id
    expect(JSON.stringify(byHospital.body)).toContain(
      '(Region Gävleborg och länets kommuner: samverkan vid utskrivning (Lifecare SPU/SIP); not the hospital)',
    );
    expect(JSON.stringify(byHospital.body)).not.toContain('agreement gavleborg');
  });

  it('when the home health care unit creates the SIP, then the vårdcentral and social services get invitations due the next working day', async () => {
    plan = ok(
      await c['demo-vasteras-hsl']!.post('/fhir/CarePlan', sipDraft(encounter, HSL, [SKULTUNA, VASTERAS])),
      201,
    ) as CarePlan;
    valid(plan, PROFILE.carePlan);
    const [invite] = await c['demo-vc-skultuna']!.tasks({ focus: `CarePlan/${plan.id}` });
    expect(invite).toMatchObject({ status: 'requested', owner: { reference: SKULTUNA } });
    expect(invite?.restriction?.period?.end).toBe(invitationDeadline(invite!.authoredOn!));
    expect(Date.parse(invite!.restriction!.period!.end!)).toBeGreaterThan(Date.parse(invite!.authoredOn!));
    expect(invite?.businessStatus?.coding?.[0]?.code).toBe('on-time');
    expect(invite?.extension?.[0]?.valueString).toMatch(/^gavleborg\/sipPlan.acknowledgeWithin \(003/);
    valid(invite!);
    const [social] = await c['demo-vasteras']!.tasks({ focus: `CarePlan/${plan.id}` });
    expect(social).toMatchObject({ status: 'requested', owner: { reference: VASTERAS } });
    const own = await c['demo-vasteras-hsl']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'kallelse-sip' });
    expect(own.find((t) => t.owner?.reference === HSL && !focusOf(t).startsWith('CarePlan/'))?.status).toBe(
      'completed',
    );
  });

  it('when the invitation waits, then it is on the ladder; when acknowledged, the deadline is met and the ladder stops', async () => {
    const [invite] = await c['demo-vc-skultuna']!.tasks({ focus: `CarePlan/${plan.id}` });
    const agreements = await loadAgreements();
    const deps = {
      ladderFor: (a: string) => agreements.get(a)?.escalation.steps,
      agreementOf: () => 'gavleborg',
      repo: (db: typeof shell.db) => createRepository(db, { system: true }),
      now: () => new Date(),
    };
    const planned = await syncTask(shell.db, invite!.id!, deps);
    expect(planned.arm.map((s) => s.stepId)).toEqual(expect.arrayContaining(['reminder', 'overdue']));
    const acked = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${invite!.id}`, { ...invite, status: 'received' }),
    ) as Task;
    expect(acked.status).toBe('received');
    const stored = ok(await c['demo-vc-skultuna']!.get(`/fhir/Task/${invite!.id}`)) as Task;
    expect(stored.status).toBe('received');
    expect(stored.executionPeriod?.end).toBeDefined();
    expect(stored.businessStatus?.coding?.[0]?.code).toBe('on-time');
    expect(stored.restriction?.period?.end).toBe(invite!.restriction!.period!.end);
    valid(stored);
    const after = await syncTask(shell.db, invite!.id!, deps);
    expect(after.arm).toEqual([]);
    const open = await shell.db.query(
      'SELECT count(*)::int AS n FROM deadline_step WHERE task_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL',
      [invite!.id],
    );
    expect(open.rows[0]).toMatchObject({ n: 0 });
  });

  it('when both sign, the hospital approves and the home health care unit records the meeting, then its follow-up is due a month later', async () => {
    const sign = (who: string, description: string) =>
      c[who]!.post(`/fhir/CarePlan/${plan.id}/$sign`, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'description', valueString: description },
          { name: 'contact', valueString: 'Kontakt 026-00 00 00' },
        ],
      });
    ok(await sign('demo-vasteras-hsl', 'Hemsjukvården: sjuksköterska besöker dagligen'));
    ok(await sign('demo-vasteras', 'Hemtjänst: tre besök per dag'));
    ok(await sign('demo-vc-skultuna', 'Läkare följer upp läkemedel'));
    const active = ok(await c['demo-ehr']!.post(`/fhir/CarePlan/${plan.id}/$approve`)) as CarePlan;
    expect(active.status).toBe('active');
    const held = {
      resourceType: 'Parameters',
      parameter: [{ name: 'date', valueDateTime: '2026-12-02T10:00:00+01:00' }],
    };
    expect((await c['demo-vc-skultuna']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`, held)).status).toBe(403);
    expect((await c['demo-vasteras']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`, held)).status).toBe(403);
    ok(await c['demo-vasteras-hsl']!.post(`/fhir/CarePlan/${plan.id}/$meeting-held`, held));
    const follow = await c['demo-vasteras-hsl']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'sip-uppfoljning',
    });
    expect(follow).toHaveLength(1);
    expect(follow[0]?.owner?.reference).toBe(HSL);
    expect(follow[0]?.restriction?.period?.end?.slice(0, 10)).toBe('2027-01-02');
    valid(follow[0]!);
    expect((await c['demo-sala']!.get(`/fhir/CarePlan/${plan.id}`)).status).toBe(404);
  });

  it('when a party asks for the plan as PDF, then it gets a PDF naming the FVK and each party in Swedish; others 404', async () => {
    const asPdf = (who: string, how: 'format' | 'accept') => {
      const r = request(shell.gateway.app)
        .get(`/fhir/CarePlan/${plan.id}/$print`)
        .auth(c[who]!.token, { type: 'bearer' })
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (x: Buffer) => chunks.push(x));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      return how === 'format' ? r.query({ _format: 'pdf' }) : r.set('Accept', 'application/pdf');
    };
    for (const how of ['format', 'accept'] as const) {
      const r = await asPdf('demo-vc-skultuna', how);
      expect(r.status, how).toBe(200);
      expect(r.type).toBe('application/pdf');
      const body = r.body as Buffer;
      expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      const text = pdfText(body);
      expect(text).toContain('Samordnad individuell plan (SIP)');
      expect(text).toMatch(/Din fasta vårdkontakt\nVästerås stad, hemsjukvården: Kontakt 026-00 00 00/);
      expect(text).toContain('Hemtjänst: tre besök per dag');
      expect(text).toContain('Hemsjukvården: sjuksköterska besöker dagligen');
      expect(text).toContain('Läkare följer upp läkemedel');
      expect(text).toContain('Skultuna vårdcentral');
      expect(text).toContain('Plan för: Tolvan Tolvansson');
      expect(text).toContain('Gällande: alla parter har signerat och sjukhuset har godkänt');
      expect(text).not.toContain('Organization/');
    }
    expect((await asPdf('demo-sala', 'format')).status).toBe(404);
    const html = await c['demo-vc-skultuna']!.get(`/fhir/CarePlan/${plan.id}/$print`);
    expect(html.type).toBe('text/html');
    expect(html.text).toContain('Hemsjukvården: sjuksköterska besöker dagligen');
  });
});

/** Jönköping (003 step 3): "SVPL initieras av sjukhuset", so the hospital may create the plan and invite. */
describe.each(testDatabases())('a Jönköping stay whose SIP the hospital initiates on %s', (kind) => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'jonkoping' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
  });
  afterAll(async () => shell.close());

  it('when the hospital creates the SIP, then the vårdcentral and the municipality each get an invitation', async () => {
    const bundle = admission('jkpg-hosp', '191212121212', '2026-11-28T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    let encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    encounter = ok(
      await c['demo-ehr']!.put(
        `/fhir/Encounter/${id}`,
        withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' })),
      ),
    ) as Encounter;
    const plan = ok(
      await c['demo-ehr']!.post('/fhir/CarePlan', sipDraft(encounter, HOSPITAL, [SKULTUNA, VASTERAS])),
      201,
    ) as CarePlan;
    for (const [who, org] of [
      ['demo-vc-skultuna', SKULTUNA],
      ['demo-vasteras', VASTERAS],
    ] as const) {
      const [invite] = await c[who]!.tasks({ focus: `CarePlan/${plan.id}` });
      expect(invite, who).toMatchObject({ status: 'requested', owner: { reference: org } });
      expect(invite?.restriction?.period?.end).toBeDefined();
    }
  });
});

/** Gävleborg over HL7: OBX `hemsjukvard` (CWE ja/nej, system SVU) makes the municipality’s home health care unit the named care contact. */
describe('a Gävleborg stay with home health care sent over HL7', () => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};

  beforeAll(async () => {
    shell = await openShell({
      kind: 'pglite',
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'gavleborg' },
    });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
    for (const id of ['demo-ehr', 'demo-vasteras-hsl', 'demo-vc-skultuna', 'demo-sala'])
      c[id] = await partyClient(shell.gateway.app, id);
  });
  afterAll(async () => shell.close());

  const msg = (id: string, extra: string[], kommunkod = '1980') =>
    [
      `MSH|^~\\&|EHR|SE2321000172-DEMO0001|SVU|SVU-GATEWAY|20261128080000||ADT^A01^ADT_A01|${id}|P|2.5|||AL|NE|SWE|UNICODE UTF-8`,
      'EVN|A01|20261128080000',
      `PID|1||193803129828^^^SE&1.2.752.129.2.1.3.1&ISO^PNR||Andersson^Karin^Maria||19380312|F|||Vasagatan 12^^Västerås^^72215^SE^H^^${kommunkod}`,
      'PD1|||Vårdcentralen Skultuna^^^^^^^^^SE2321000172-DEMO0101',
      `PV1|1|I|MED21^12^1^SE2321000172-DEMO0001||||SE2321000172-P0001^Lind^Erik||||||||||||GV-20261128-${id}|||||||||||||||||||||||||20261128080000`,
      'OBX|1|CWE|behov^Behov efter utskrivning^SVU||socialtjanst~kommunal-hsl||||||F',
      'OBX|2|CWE|sip-behov^Behov av SIP^SVU||ja||||||F',
      'OBX|3|TS|utskrivningsklar^Utskrivningsklar^SVU||20261130100000||||||F',
      ...extra,
    ].join('\r');

  it('when the A01 says hemsjukvard = ja, then the municipality’s home health care unit, not the vårdcentral, must invite to the SIP', async () => {
    const r = await request(shell.gateway.app)
      .post('/hl7v2')
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .auth(c['demo-ehr']!.token, { type: 'bearer' })
      .send(msg('GV-0001', ['OBX|4|CWE|hemsjukvard^Hemsjukvård^SVU||ja||||||F']));
    expect(r.text).toContain('MSA|AA');
    await waitFor(
      async () =>
        (await c['demo-vasteras-hsl']!.tasks({ code: 'kallelse-sip' })).some((t) => t.owner?.reference === HSL),
      10_000,
      'the municipal nurse’s invitation duty',
    );
    const vc = await c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' });
    expect(vc.filter((t) => t.owner?.reference === SKULTUNA)).toEqual([]);
    expect((await c['demo-vasteras-hsl']!.tasks()).map(codeOf)).toContain('kallelse-sip');
  });

  it('when the municipality registers no home health care unit, then the municipality owns the invitation duty and the Task names it as its home health care', async () => {
    const r = await request(shell.gateway.app)
      .post('/hl7v2')
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .auth(c['demo-ehr']!.token, { type: 'bearer' })
      .send(msg('GV-0002', ['OBX|4|CWE|hemsjukvard^Hemsjukvård^SVU||ja||||||F'], '1981'));
    expect(r.text).toContain('MSA|AA');
    let invite: Task | undefined;
    await waitFor(
      async () => {
        invite = (await c['demo-sala']!.tasks({ code: 'kallelse-sip' }))[0];
        return invite !== undefined;
      },
      10_000,
      'Sala’s invitation duty',
    );
    expect(invite?.owner).toMatchObject({
      reference: 'Organization/kommun-1981',
      display: 'Kommunal hälso- och sjukvård, Sala kommun',
    });
    // the case overview heads the party with its directory name, whichever of its Tasks comes first
    const overview = ok(
      await c['demo-sala']!.get(`/fhir/${invite?.encounter?.reference ?? ''}/$overview`),
    ) as unknown as CaseOverview;
    const sala = overview.parties.find((p) => p.organization === 'Organization/kommun-1981');
    expect(sala?.tasks.map((t) => t.owner)).toContain('Kommunal hälso- och sjukvård, Sala kommun');
    expect(sala?.name).toBe('Sala kommun');
  });
});
