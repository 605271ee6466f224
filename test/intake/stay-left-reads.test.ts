import type { Encounter, Organization, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG_SYSTEM } from '../../src/fhir/constants';
import { intakeHooks, intakeRepository, intakeServices } from '../../src/intake';
import { backfillStaysLeft, STAYS_LEFT_BACKFILL } from '../../src/intake/stay/stays-left-backfill';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { sampledCount } from '../../src/store/read-sql';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, type IntakeHarness } from './harness';

/**
 * A party the stay left (an A08 moves the patient to another municipality and vårdcentral) keeps its own Tasks
 * (answered, withdrawn, the makulering telling it) but no longer reads the stay's Encounter and Patient through them:
 * the Patient now carries the address in the municipality the patient moved to (docs/security.md). Every read path
 * says the same: read, search with its total, the sampled estimate, `_include`. A municipality still told for
 * information keeps reading; one the stay comes back to reads again; the owner cannot take the mark off.
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const stayOf = (visit: string) => encounterIdFor(VISIT_SYSTEM, visit);
const VC_OLD = 'SE2321000172-VC01';
const VC_NEW = 'SE2321000172-VC02';
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];

describe.each(testDatabases())('a party the stay left no longer reads it, on %s', (kind) => {
  let h: IntakeHarness;
  const org: Record<string, string> = {};
  const scope = (id: string, role: AccessScope['role']): AccessScope => ({
    clientId: `c-${id}`,
    organization: `Organization/${id}`,
    role,
  });
  const as = (id: string, role: AccessScope['role'] = 'municipality'): FhirRepository =>
    createRepository(h.db, scope(id, role), intakeHooks(h.ctx));

  beforeAll(async () => {
    h = await intakeHarness(kind, { units: [VC_OLD, VC_NEW] });
    const units = await h.repo.search<Organization>('Organization', { identifier: `${VC_OLD},${VC_NEW}` });
    for (const o of units.resources) org[o.name?.endsWith(VC_OLD) ? 'vcOld' : 'vcNew'] = o.id!;
    org.vasteras = h.vasteras.id!;
    org.sala = h.sala.id!;
  });
  afterAll(async () => {
    await h.close();
  });
  const send = async (o: AdtOptions): Promise<void> => {
    const ack = await h.send(adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  /** What the tenant reads of the stay, each way a read can go. */
  const reads = async (id: string, role: AccessScope['role'], stay: string) => {
    const r = as(id, role);
    const enc = await r.read<Encounter>('Encounter', stay).then(
      (e) => e,
      () => undefined,
    );
    const patientId = (await h.repo.read<Encounter>('Encounter', stay)).subject?.reference?.split('/')[1] ?? '';
    const patient = await r.read<Patient>('Patient', patientId).then(
      (p) => p,
      () => undefined,
    );
    const search = await r.search('Encounter', { _id: stay, _total: 'accurate' });
    const all = await r.search('Encounter', { _total: 'accurate', _count: '100' });
    const included = await r.search('Task', {
      encounter: `Encounter/${stay}`,
      _include: 'Task:patient',
      _count: '100',
    });
    return {
      encounter: enc?.id === stay,
      patient: patient?.id === patientId,
      byId: search.resources.length,
      inList: all.resources.some((e) => e.id === stay),
      total: all.total,
      estimate: await sampledCount(h.db, scope(id, role), 'Encounter', {}, 100),
      includedPatients: included.included.filter((x) => x.resourceType === 'Patient').length,
      ownTasks: included.resources.length,
    };
  };

  it('when an A08 moves the patient to Sala and another vårdcentral, then Västerås stad and the old vårdcentral keep their Tasks, tagged, and read neither the Encounter nor the Patient any more; the new parties read both', async () => {
    const visit = 'SL-MOVE';
    const stay = stayOf(visit);
    await send({ event: 'A01', visit, municipality: '1980', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    const before = await reads(org.vasteras!, 'municipality', stay);
    expect(before).toMatchObject({ encounter: true, patient: true, byId: 1, inList: true, includedPatients: 1 });
    // Västerås stad acknowledges its notice: a Task it answered, which the re-routing does not withdraw.
    const notice = (await h.tasks(stay)).find(
      (t) => t.owner?.reference === `Organization/${org.vasteras}` && codeOf(t) === 'inskrivningsmeddelande',
    ) as Task;
    await as(org.vasteras!).update<Task>({ ...notice, status: 'accepted' });
    await as(org.vasteras!).update<Task>({ ...(await h.repo.read<Task>('Task', notice.id!)), status: 'completed' });

    await send({ event: 'A08', visit, municipality: '1981', listedUnit: VC_NEW, evnTime: '20260116090000' });
    const tasks = await h.tasks(stay);
    for (const [id, role] of [
      [org.vasteras!, 'municipality'],
      [org.vcOld!, 'primary-care'],
    ] as const) {
      const own = tasks.filter((t) => t.owner?.reference === `Organization/${id}`);
      // completed, cancelled and the makulering Tasks alike: each tagged with its owner
      expect(own.some((t) => codeOf(t) === 'makulering')).toBe(true);
      for (const t of own)
        expect(t.meta?.tag?.filter((g) => g.system === TAG_SYSTEM.stayLeft).map((g) => g.code)).toEqual([id]);
      expect(await reads(id, role, stay)).toEqual({
        encounter: false,
        patient: false,
        byId: 0,
        inList: false,
        total: 0,
        estimate: 0,
        includedPatients: 0,
        ownTasks: own.length,
      });
    }
    expect(tasks.find((t) => t.id === notice.id)?.status).toBe('completed');
    for (const [id, role] of [
      [org.sala!, 'municipality'],
      [org.vcNew!, 'primary-care'],
    ] as const) {
      expect(await reads(id, role, stay)).toMatchObject({ encounter: true, patient: true, byId: 1, inList: true });
      for (const t of tasks.filter((x) => x.owner?.reference === `Organization/${id}`))
        expect(t.meta?.tag).toBeUndefined();
    }
  });

  it('when the owner writes its Task back without the tag, then it is refused and the Task keeps it', async () => {
    const stay = stayOf('SL-MOVE');
    const mine = (await h.tasks(stay)).find(
      (t) => t.owner?.reference === `Organization/${org.vasteras}` && codeOf(t) === 'makulering',
    ) as Task;
    const { tag: _dropped, ...meta } = mine.meta ?? {};
    await expect(as(org.vasteras!).update<Task>({ ...mine, meta, status: 'received' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await h.repo.read<Task>('Task', mine.id!)).meta?.tag?.[0]?.code).toBe(org.vasteras);
    expect((await reads(org.vasteras!, 'municipality', stay)).encounter).toBe(false);
  });

  it('when the stay comes back to Västerås stad, then it reads the stay again through its new Tasks', async () => {
    const visit = 'SL-BACK';
    const stay = stayOf(visit);
    await send({ event: 'A01', visit, municipality: '1980', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({ event: 'A08', visit, municipality: '1981', listedUnit: VC_OLD, evnTime: '20260116090000' });
    expect((await reads(org.vasteras!, 'municipality', stay)).encounter).toBe(false);
    // the vårdcentral stayed: it reads on
    expect((await reads(org.vcOld!, 'primary-care', stay)).encounter).toBe(true);
    await send({ event: 'A08', visit, municipality: '1980', listedUnit: VC_OLD, evnTime: '20260117090000' });
    expect(await reads(org.vasteras!, 'municipality', stay)).toMatchObject({ encounter: true, patient: true, byId: 1 });
    expect((await reads(org.sala!, 'municipality', stay)).encounter).toBe(false);
  });

  it('when a placing municipality is reported, then the municipality of registration, told for information, still reads the stay', async () => {
    const visit = 'SL-PLACE';
    const stay = stayOf(visit);
    await send({ event: 'A01', visit, municipality: '1980', listedUnit: VC_OLD, expected: '20260125', obx: NEEDS });
    await send({
      event: 'A08',
      visit,
      municipality: '1980',
      listedUnit: VC_OLD,
      evnTime: '20260116090000',
      obx: [...NEEDS, OBX.placing('1981')],
    });
    const tasks = await h.tasks(stay);
    const vasteras = tasks.filter((t) => t.owner?.reference === `Organization/${org.vasteras}`);
    // its Tasks as the responsible municipality are withdrawn and tagged; its notice for information is not
    expect(vasteras.some((t) => t.meta?.tag !== undefined)).toBe(true);
    expect(vasteras.some((t) => t.meta?.tag === undefined && t.status === 'requested')).toBe(true);
    expect(await reads(org.vasteras!, 'municipality', stay)).toMatchObject({ encounter: true, patient: true });
    expect((await reads(org.sala!, 'municipality', stay)).encounter).toBe(true);
  });

  it('when a store from before the tag has stays a party left, then the first start tags their Tasks once, and the party reads the stay no more', async () => {
    const visit = 'SL-OLD';
    const stay = stayOf(visit);
    // a patient of her own: Västerås stad reads the other stays' patient through SL-BACK, which came back to it
    const pnr = '191212121212';
    await send({
      event: 'A01',
      visit,
      pnr,
      municipality: '1980',
      listedUnit: VC_OLD,
      expected: '20260125',
      obx: NEEDS,
    });
    await send({ event: 'A08', visit, pnr, municipality: '1981', listedUnit: VC_NEW, evnTime: '20260116090000' });
    // the store as 0.16.0 left it: no Task tagged, the one-off not recorded
    for (const t of await h.tasks(stay))
      if (t.meta?.tag) await h.repo.update<Task>({ ...t, meta: { ...t.meta, tag: undefined } });
    await h.db.query('DELETE FROM schema_migrations WHERE name = $1', [STAYS_LEFT_BACKFILL]);
    expect((await reads(org.vasteras!, 'municipality', stay)).encounter).toBe(true);

    const applied = await backfillStaysLeft(h.db, intakeRepository, intakeServices(h.ctx).deps);
    // each stay of this file with a re-routing is applied again (SL-OLD alone when run by itself)
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(await reads(org.vasteras!, 'municipality', stay)).toMatchObject({ encounter: false, patient: false });
    expect((await reads(org.vcOld!, 'primary-care', stay)).encounter).toBe(false);
    expect((await reads(org.sala!, 'municipality', stay)).encounter).toBe(true);
    const tagged = (await h.tasks(stay)).filter((t) => t.meta?.tag);
    expect(tagged.length).toBeGreaterThan(0);
    // once per store
    expect(await backfillStaysLeft(h.db, intakeRepository, intakeServices(h.ctx).deps)).toBe(0);
    // a stay the party came back to still opens to it
    expect((await reads(org.vasteras!, 'municipality', stayOf('SL-BACK'))).encounter).toBe(true);
  });
});
