import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_SYSTEM } from '../../src/fhir/constants';
import { intakeHooks } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { createRepository } from '../../src/store/repository.pg';
import { adt, ALL_CRITERIA_CODES, died, OBX, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * Every withdrawn Task reaches its owner as a makulering (contract: `cancelled` when withdrawn, `makulering` a
 * cancellation of something sent earlier): on a re-routing, at a death, and when the engine no longer derives a Task;
 * not one its owner rejected, nor one its owner completed whose result stands (a completed notice still does).
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const stayOf = (visit: string) => encounterIdFor(VISIT_SYSTEM, visit);
const VC_OLD = 'SE2321000172-VC01';
const VC_NEW = 'SE2321000172-VC02';
/** C+D: the municipality and the listed vårdcentral are notified; the vårdcentral appoints the FVK and invites to SIP. */
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];
const ALL_CRITERIA = OBX.criteria(...ALL_CRITERIA_CODES);

const ownerOf = (t: Task | undefined): string | undefined => t?.owner?.reference ?? t?.owner?.identifier?.value;

describe.each(testDatabases())('every withdrawn Task is told to its owner as a makulering on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });
  const send = async (o: AdtOptions | string): Promise<void> => {
    const ack = await h.send(typeof o === 'string' ? o : adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  /** The receivers' cancelled Tasks (not the hospital's duties), each with the makulering pointing at it. */
  const withdrawn = (tasks: readonly Task[], owner: string) =>
    tasks
      .filter((t) => ownerOf(t) === owner && t.status === 'cancelled' && !isDuty(t) && codeOf(t) !== 'makulering')
      .map((t) => ({
        code: codeOf(t),
        task: t,
        makulering: tasks.find((m) => codeOf(m) === 'makulering' && m.focus?.reference === `Task/${t.id}`),
      }));

  it('when the vårdcentral that acknowledged its notice is re-routed away and back by A08s, then it gets a new admission notification with its own deadline; the acknowledged one stays completed and its makulering stands', async () => {
    const visit = 'MK-BACK';
    await send({ event: 'A01', visit, municipality: '1980', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    const first = (await h.tasks(stayOf(visit))).find(
      (t) => ownerOf(t) === VC_OLD && codeOf(t) === 'inskrivningsmeddelande' && !isDuty(t),
    ) as Task;
    // The vårdcentral acknowledges it.
    await createRepository(h.db, { system: true }, intakeHooks(h.ctx)).update<Task>({ ...first, status: 'completed' });
    await send({ event: 'A08', visit, municipality: '1980', listedUnit: VC_NEW, evnTime: '20260116090000' });
    await send({ event: 'A08', visit, municipality: '1980', listedUnit: VC_OLD, evnTime: '20260117090000' });
    const tasks = await h.tasks(stayOf(visit));
    const notices = tasks.filter((t) => ownerOf(t) === VC_OLD && codeOf(t) === 'inskrivningsmeddelande' && !isDuty(t));
    expect(notices.map((t) => [t.id === first.id, t.status])).toEqual(
      expect.arrayContaining([
        [true, 'completed'],
        [false, 'requested'],
      ]),
    );
    expect(notices).toHaveLength(2);
    const again = notices.find((t) => t.status === 'requested');
    expect(again?.authoredOn).toBe('2026-01-17T08:00:00.000Z');
    const duty = tasks.find((t) => isDuty(t) && t.id === again?.basedOn?.[0]?.reference?.slice('Task/'.length));
    expect(duty?.restriction?.period?.end).toBe('2026-01-18T08:00:00.000Z');
    // The makulering of the first notice (re-routed away) stands: it was sent, and the new notice is the news.
    const makulering = tasks.filter((t) => codeOf(t) === 'makulering' && t.focus?.reference === `Task/${first.id}`);
    expect(makulering.map((t) => t.status)).toEqual(['requested']);
    // The vårdcentral is the named care contact again, with an open Task to appoint one.
    const fvk = tasks.filter((t) => ownerOf(t) === VC_OLD && codeOf(t) === 'utse-fast-vardkontakt');
    expect(fvk.map((t) => t.status).sort()).toEqual(['cancelled', 'requested']);
  });

  it('when an A08 moves the patient to another municipality and vårdcentral, then each old party gets a makulering of each Task withdrawn from it, saying it no longer has the patient and naming nobody new', async () => {
    await send({
      event: 'A01',
      visit: 'MK-R',
      municipality: '1980',
      listedUnit: VC_OLD,
      expected: '20260125',
      obx: NEEDS,
    });
    await send({ event: 'A08', visit: 'MK-R', municipality: '1981', listedUnit: VC_NEW, evnTime: '20260116090000' });
    const tasks = await h.tasks(stayOf('MK-R'));
    const fromVasteras = withdrawn(tasks, `Organization/${h.vasteras.id}`);
    const fromVc = withdrawn(tasks, VC_OLD);
    expect(fromVasteras.map((w) => w.code)).toEqual(['inskrivningsmeddelande']);
    expect(fromVc.map((w) => w.code).sort()).toEqual([
      'inskrivningsmeddelande',
      'kallelse-sip',
      'utse-fast-vardkontakt',
    ]);
    for (const w of [...fromVasteras, ...fromVc]) {
      expect(w.makulering, w.code).toMatchObject({
        status: 'requested',
        owner: w.task.owner,
        requester: { reference: `Organization/${h.hospital.id}` },
        authoredOn: '2026-01-16T08:00:00.000Z',
      });
      // The old party may no longer see where the patient went: no new municipality or unit, by name or code.
      for (const secret of [h.sala.name ?? 'Sala', '1981', VC_NEW])
        expect(`${w.makulering?.description} ${w.task.description}`).not.toContain(secret);
    }
    for (const w of fromVasteras)
      expect(w.makulering?.description).toMatch(/^Vårdtillfället har omdirigerats: er kommun är inte längre ansvarig/);
    for (const w of fromVc)
      expect(w.makulering?.description).toMatch(
        /^Vårdtillfället har omdirigerats: patienten är inte längre listad hos er/,
      );
    // The new parties have their Tasks, and no makulering.
    const toNew = tasks.filter((t) => ownerOf(t) === `Organization/${h.sala.id}` || ownerOf(t) === VC_NEW);
    expect(toNew.map(codeOf)).toContain('utse-fast-vardkontakt');
    expect(toNew.filter((t) => t.status !== 'requested' || codeOf(t) === 'makulering')).toEqual([]);
  });

  it('when the patient dies, then each planning Task that lapses (FVK, SIP invitation) gets a makulering to its owner saying the patient died, and each unit is asked to close its case', async () => {
    await send({ event: 'A01', visit: 'MK-D', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({
      event: 'A08',
      visit: 'MK-D',
      evnTime: '20260117090000',
      obx: [ALL_CRITERIA, OBX.ready('202601170900')],
    });
    await send(died(adt({ event: 'A08', visit: 'MK-D', evnTime: '20260118120500' }), '20260118113000'));
    const tasks = await h.tasks(stayOf('MK-D'));
    const lapsed = withdrawn(tasks, VC_OLD);
    expect(lapsed.map((w) => w.code).sort()).toEqual(['kallelse-sip', 'utse-fast-vardkontakt']);
    for (const w of lapsed) {
      expect(w.makulering, w.code).toMatchObject({
        status: 'requested',
        owner: w.task.owner,
        requester: { reference: `Organization/${h.hospital.id}` },
        authoredOn: '2026-01-18T10:30:00.000Z',
      });
      expect(w.makulering?.description).toMatch(/^Patienten har avlidit: .* behövs inte längre och återkallas$/);
    }
    const close = tasks.filter((t) => codeOf(t) === 'avsluta-arende').map((t) => [ownerOf(t), t.status]);
    expect(close).toHaveLength(2);
    for (const [, status] of close) expect(status).toBe('requested');
    // A message that was sent stays sent: the ready notice still waits for its acknowledgement.
    expect(tasks.filter((t) => codeOf(t) === 'utskrivningsklar').map((t) => t.status)).toEqual([
      'requested',
      'requested',
    ]);
  });

  it('when a needs re-assessment removes the FVK and SIP, then the vårdcentral gets a makulering of each Task the engine no longer derives, and a later message leaves them standing', async () => {
    await send({ event: 'A01', visit: 'MK-N', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({ event: 'A08', visit: 'MK-N', evnTime: '20260116090000', obx: [OBX.needs('socialtjanst')] });
    await send({ event: 'A08', visit: 'MK-N', evnTime: '20260116100000', expected: '20260127' });
    const tasks = await h.tasks(stayOf('MK-N'));
    const gone = withdrawn(tasks, VC_OLD);
    expect(gone.map((w) => w.code).sort()).toEqual(['kallelse-sip', 'utse-fast-vardkontakt']);
    for (const w of gone) {
      expect(w.makulering, w.code).toMatchObject({
        status: 'requested',
        owner: w.task.owner,
        requester: w.task.requester,
        for: w.task.for,
        encounter: w.task.encounter,
      });
      expect(w.makulering?.description).toMatch(/ återkallas: uppgiften gäller inte längre /);
    }
    // One makulering per withdrawn Task, and none for the hospital's own duties.
    expect(tasks.filter((t) => codeOf(t) === 'makulering')).toHaveLength(2);
  });

  it('when a municipality rejects the stay, then its other open Tasks are withdrawn with a makulering saying so, and the notice it rejected gets none', async () => {
    const stay = stayOf('MK-J');
    await send({
      event: 'A01',
      visit: 'MK-J',
      municipality: '1981',
      expected: '20260125',
      obx: [OBX.needs('socialtjanst')],
    });
    await send({ event: 'A08', visit: 'MK-J', municipality: '1981', evnTime: '20260116090000', expected: '20260127' });
    const notice = (await h.tasks(stay)).find((t) => codeOf(t) === 'inskrivningsmeddelande' && !isDuty(t)) as Task;
    h.clock.set('2026-01-16T10:00:00Z'); // Sala answers after the estimate change reached it
    const sala = { organization: `Organization/${h.sala.id}`, role: 'municipality' as const };
    await createRepository(h.db, sala, intakeHooks(h.ctx)).update<Task>({
      ...notice,
      status: 'rejected',
      statusReason: { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-folkbokford' }] },
    });
    const tasks = await h.tasks(stay);
    const fromSala = withdrawn(tasks, `Organization/${h.sala.id}`);
    expect(fromSala.map((w) => w.code)).toEqual(['beraknad-utskrivning-andrad']);
    expect(fromSala[0]?.makulering?.description).toBe(
      'Ni har avvisat vårdtillfället: det som skickats till er återkallas',
    );
    expect(tasks.filter((t) => codeOf(t) === 'makulering')).toHaveLength(1);
  });

  /** The owner answers its Task as done (`completed`), as a municipality acknowledges a notice. */
  const complete = async (tasks: readonly Task[], code: string, owner: string): Promise<Task> => {
    const t = tasks.find((x) => codeOf(x) === code && ownerOf(x) === owner && !isDuty(x)) as Task;
    expect(t, `${code} of ${owner}`).toBeDefined();
    return createRepository(h.db, { system: true }, intakeHooks(h.ctx)).update<Task>({ ...t, status: 'completed' });
  };
  const makuleringOf = (tasks: readonly Task[], t: Task): Task | undefined =>
    tasks.find((m) => codeOf(m) === 'makulering' && m.focus?.reference === `Task/${t.id}`);

  it('when a municipality acknowledged its admission notification and the vårdcentral appointed the FVK, and an A08 re-routes both, then the municipality still gets a makulering (its planning stops) and the vårdcentral none for the appointment it made', async () => {
    const stay = stayOf('MK-C');
    await send({
      event: 'A01',
      visit: 'MK-C',
      municipality: '1980',
      listedUnit: VC_OLD,
      expected: '20260125',
      obx: NEEDS,
    });
    h.clock.set('2026-01-15T12:00:00Z');
    const first = await h.tasks(stay);
    const notice = await complete(first, 'inskrivningsmeddelande', `Organization/${h.vasteras.id}`);
    const fvk = await complete(first, 'utse-fast-vardkontakt', VC_OLD);
    await send({ event: 'A08', visit: 'MK-C', municipality: '1981', listedUnit: VC_NEW, evnTime: '20260116090000' });
    const tasks = await h.tasks(stay);
    const byId = (t: Task) => tasks.find((x) => x.id === t.id);
    expect(byId(notice)?.status).toBe('completed');
    expect(makuleringOf(tasks, notice)?.description).toMatch(/^Vårdtillfället har omdirigerats: er kommun/);
    expect(byId(fvk)?.status).toBe('completed');
    expect(makuleringOf(tasks, fvk)).toBeUndefined();
    // What the vårdcentral had not done yet is withdrawn from it, and it learns the stay left it.
    expect(withdrawn(tasks, VC_OLD).map((w) => [w.code, w.makulering?.status])).toEqual(
      expect.arrayContaining([
        ['inskrivningsmeddelande', 'requested'],
        ['kallelse-sip', 'requested'],
      ]),
    );
  });

  it('when the vårdcentral had appointed the FVK and the municipality acknowledged its notice, and the patient dies, then neither gets a makulering of what it completed, and both are asked to close the case', async () => {
    const stay = stayOf('MK-E');
    await send({ event: 'A01', visit: 'MK-E', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({
      event: 'A08',
      visit: 'MK-E',
      evnTime: '20260117090000',
      obx: [ALL_CRITERIA, OBX.ready('202601170900')],
    });
    h.clock.set('2026-01-17T12:00:00Z');
    const before = await h.tasks(stay);
    const done = [
      await complete(before, 'inskrivningsmeddelande', `Organization/${h.vasteras.id}`),
      await complete(before, 'utse-fast-vardkontakt', VC_OLD),
    ];
    await send(died(adt({ event: 'A08', visit: 'MK-E', evnTime: '20260118120500' }), '20260118113000'));
    const tasks = await h.tasks(stay);
    for (const t of done) {
      expect(tasks.find((x) => x.id === t.id)?.status).toBe('completed');
      expect(makuleringOf(tasks, t), codeOf(t)).toBeUndefined();
    }
    // The invitation not yet sent lapses with its makulering; each unit is asked to close its case.
    expect(withdrawn(tasks, VC_OLD).map((w) => [w.code, w.makulering?.status])).toEqual([
      ['kallelse-sip', 'requested'],
    ]);
    const close = tasks.filter((t) => codeOf(t) === 'avsluta-arende' && t.status === 'requested').map(ownerOf);
    expect(close.sort()).toEqual([`Organization/${h.vasteras.id}`, VC_OLD].sort());
  });
  it('when a needs re-assessment (behov ingen) drops the ready notice the municipality acknowledged and the FVK the vårdcentral appointed, then the municipality gets a makulering of the ready notice (its news no longer holds) and the vårdcentral none for the appointment it made; both Tasks stay as answered', async () => {
    const stay = stayOf('MK-Q');
    await send({ event: 'A01', visit: 'MK-Q', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({
      event: 'A08',
      visit: 'MK-Q',
      evnTime: '20260117090000',
      obx: [ALL_CRITERIA, OBX.ready('202601170900')],
    });
    h.clock.set('2026-01-17T12:00:00Z');
    const before = await h.tasks(stay);
    const ready = await complete(before, 'utskrivningsklar', `Organization/${h.vasteras.id}`);
    const fvk = await complete(before, 'utse-fast-vardkontakt', VC_OLD);
    await send({ event: 'A08', visit: 'MK-Q', evnTime: '20260117100000', obx: [OBX.needs('ingen')] });
    await send({ event: 'A08', visit: 'MK-Q', evnTime: '20260117110000', expected: '20260127' });
    const tasks = await h.tasks(stay);
    expect(tasks.find((x) => x.id === ready.id)?.status).toBe('completed');
    expect(tasks.find((x) => x.id === fvk.id)?.status).toBe('completed');
    expect(makuleringOf(tasks, ready)).toMatchObject({ status: 'requested', owner: ready.owner });
    expect(makuleringOf(tasks, ready)?.description).toMatch(/ återkallas: uppgiften gäller inte längre /);
    expect(makuleringOf(tasks, fvk)).toBeUndefined();
    // Told once, however many messages follow.
    expect(tasks.filter((t) => t.focus?.reference === `Task/${ready.id}`)).toHaveLength(1);
  });
});
