import type { Bundle, Patient, Resource, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION, SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from './fixtures';

/**
 * A Patient with protected identity (HL7 Sweden label) and the contact details a recipient must never get; with
 * `managing`, it names its hospital itself (else the notice names the organisation that wrote it).
 */
function protectedPatient(pnr: string, code = 'skyddadFolkbokforing', managing = false): Patient {
  return {
    ...patient(pnr),
    meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code }] },
    address: [{ line: ['Hemliga vägen 1'], city: 'Västerås', postalCode: '72211' }],
    telecom: [{ system: 'phone', value: '021-123456' }],
    contact: [{ name: { family: 'Anhörig' }, telecom: [{ system: 'phone', value: '070-1111111' }] }],
    ...(managing
      ? { managingOrganization: { reference: 'Organization/hosp', display: 'Västmanlands sjukhus Västerås' } }
      : {}),
  };
}

/** True when `r` is the recipient's view: no address/telecom/contact, the REDACTED label and the notice. */
function expectRecipientView(r: Resource | undefined): void {
  expect(r?.resourceType).toBe('Patient');
  const p = r as Patient;
  expect(p.address).toBeUndefined();
  expect(p.telecom).toBeUndefined();
  expect(p.contact).toBeUndefined();
  expect(p.identifier?.[0]?.value).toBeDefined();
  expect(p.name?.[0]?.family).toBe('Andersson');
  expect(p.meta?.security?.map((c) => c.code)).toContain('REDACTED');
  const notice = p.extension?.find((e) => e.url === EXTENSION.protectedIdentityNotice)?.valueString;
  expect(notice).toContain('Kontakta Västmanlands sjukhus Västerås');
}

/** The readers of these tests: a municipality, the holding and another hospital, admins without and with the right. */
async function readers(db: ClosableDb) {
  const system = createRepository(db);
  const v = await system.create(municipality('1980', 'Västerås stad'));
  const scope = (organization: string, role: AccessScope['role'], extra: Partial<AccessScope> = {}): AccessScope => ({
    clientId: `c-${organization}`,
    organization,
    role,
    ...extra,
  });
  return {
    system,
    municipalityId: v.id!,
    vasteras: createRepository(db, scope(`Organization/${v.id}`, 'municipality')),
    hospital: createRepository(db, scope('Organization/hosp', 'hospital')),
    otherHospital: createRepository(db, scope('Organization/other-hosp', 'hospital')),
    admin: createRepository(db, scope('Organization/region', 'admin')),
    adminWithRight: createRepository(db, scope('Organization/region', 'admin', { protectedIdentity: true })),
  };
}

describe.each(testDatabases())('protected identity on every read path of the repository on %s', (kind) => {
  let db: ClosableDb;
  let system: FhirRepository;
  let vasteras: FhirRepository;
  let hospital: FhirRepository;
  let otherHospital: FhirRepository;
  let admin: FhirRepository;
  let adminWithRight: FhirRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    const r = await readers(db);
    ({ system, vasteras, hospital, otherHospital, admin, adminWithRight } = r);
    const v = { id: r.municipalityId };
    await system.update({ ...municipality('0000', 'Västmanlands sjukhus Västerås'), id: 'hosp' });
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const p = await hospital.create(protectedPatient('191212121212'), w);
    await hospital.update({ ...p, gender: 'female' }, w); // a second version for vread and history
    const e = await hospital.create(encounter('E1', `Patient/${p.id}`), w);
    const t = await system.create(
      task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${p.id}`, `Encounter/${e.id}`, {
        contained: [{ ...protectedPatient('191212121212', 'sekretessmarkering', true), id: 'pat' }],
      }),
    );
    // another hospital that must act for the stay (it owns a Task) but does not hold the record
    await system.create(
      task('informationsoverforing', 'Organization/other-hosp', `Patient/${p.id}`, `Encounter/${e.id}`),
    );
    ids.p = p.id!;
    ids.t = t.id!;
  });
  afterAll(async () => db.close());

  it('when the owning municipality reads the protected Patient, then read and vread hide address, telecom and contact', async () => {
    expectRecipientView(await vasteras.read('Patient', ids.p!));
    expectRecipientView(await vasteras.readForUpdate('Patient', ids.p!));
    expectRecipientView(await vasteras.vread('Patient', ids.p!, '1'));
    expectRecipientView(await vasteras.vread('Patient', ids.p!, '2'));
  });

  it('when the owning municipality searches, includes or reads history, then every copy is the recipient view', async () => {
    const s = await vasteras.search('Patient', {});
    expect(s.resources).toHaveLength(1);
    expectRecipientView(s.resources[0]);
    const inc = await vasteras.search('Task', { _include: 'Task:patient' });
    expectRecipientView(inc.included.find((r) => r.resourceType === 'Patient'));
    // reached only through an iterated include (Task → Encounter → Patient)
    const iter = await vasteras.search('Task', { _include: 'Task:encounter', '_include:iterate': 'Encounter:patient' });
    expectRecipientView(iter.included.find((r) => r.resourceType === 'Patient'));
    const h = await vasteras.history('Patient', ids.p);
    expect(h).toHaveLength(2);
    for (const e of h) expectRecipientView(e.resource);
    for (const e of await vasteras.history('Patient')) expectRecipientView(e.resource);
  });

  it('when a Task carries a protected Patient as contained, then the municipality gets the contained one cleaned', async () => {
    const t = await vasteras.read<Task>('Task', ids.t!);
    expectRecipientView(t.contained?.[0]);
  });

  it('when the municipality reads through a batch Bundle, then the entries are the recipient view', async () => {
    const out = await vasteras.processBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${ids.p}` } },
        { request: { method: 'GET', url: 'Task?_include=Task:patient' } },
      ],
    });
    expectRecipientView(out.entry?.[0]?.resource);
    const searchset = out.entry?.[1]?.resource as Bundle;
    expectRecipientView(searchset.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource);
  });

  it('when the holding hospital, an admin with the right or the gateway reads, then the address is there', async () => {
    expect((await hospital.read<Patient>('Patient', ids.p!)).address).toHaveLength(1);
    expect((await hospital.search<Patient>('Patient', {})).resources[0]?.telecom).toHaveLength(1);
    expect((await adminWithRight.read<Patient>('Patient', ids.p!)).contact).toHaveLength(1);
    expect((await system.read<Patient>('Patient', ids.p!)).address).toHaveLength(1);
  });

  it('when another hospital sees the Patient through a Task it owns, then it is a recipient too', async () => {
    expectRecipientView(await otherHospital.read('Patient', ids.p!));
  });

  it('when an admin without the explicit right reads, then it gets the recipient view', async () => {
    expectRecipientView(await admin.read('Patient', ids.p!));
  });
});

/**
 * Searching on what reading hides: a recipient who could search a protected Patient by its address would learn the
 * address character by character (`address:contains`), though every read leaves it out. For a recipient such a
 * search, chain, `_has` or sort treats the address as absent; the holder still finds the Patient by it.
 */
describe.each(testDatabases())('searching a protected identity by its hidden address on %s', (kind) => {
  let db: ClosableDb;
  let vasteras: FhirRepository;
  let hospital: FhirRepository;
  let otherHospital: FhirRepository;
  let admin: FhirRepository;
  let adminWithRight: FhirRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    const r = await readers(db);
    ({ vasteras, hospital, otherHospital, admin, adminWithRight } = r);
    const { system } = r;
    const v = { id: r.municipalityId };
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const hidden = await hospital.create(protectedPatient('191212121212'), w);
    // an ordinary Patient at another address, so a search that matches nothing is not mistaken for one that works
    const open = await hospital.create(
      { ...patient('194001011234'), address: [{ line: ['Öppna gatan 2'], city: 'Västerås' }] },
      w,
    );
    for (const [p, n] of [
      [hidden, 1],
      [open, 2],
    ] as const) {
      const e = await hospital.create(encounter(`E-addr-${n}`, `Patient/${p.id}`), w);
      await system.create(
        task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${p.id}`, `Encounter/${e.id}`),
      );
      await system.create(
        task('informationsoverforing', 'Organization/other-hosp', `Patient/${p.id}`, `Encounter/${e.id}`),
      );
      ids[`e${n}`] = e.id!;
    }
    ids.hidden = hidden.id!;
    ids.open = open.id!;
  });
  afterAll(async () => db.close());

  const patients = async (repo: FhirRepository, q: Record<string, string>) =>
    (await repo.search('Patient', q)).resources.map((p) => p.id).sort();
  const tasks = async (repo: FhirRepository, q: Record<string, string>) =>
    (await repo.search('Task', q)).resources.length;

  it('when a recipient searches Patients by the address, a part of it or its city, then the protected one never matches', async () => {
    for (const recipient of [vasteras, otherHospital, admin]) {
      expect(await patients(recipient, { address: 'Hemliga' })).toEqual([]);
      expect(await patients(recipient, { 'address:contains': 'emliga v' })).toEqual([]);
      expect(await patients(recipient, { 'address-city': 'Västerås' })).toEqual([ids.open]);
      expect(await patients(recipient, { address: 'Öppna' })).toEqual([ids.open]);
    }
  });

  it('when a recipient chains or reverse-chains through the address, then the protected Patient does not match', async () => {
    expect(await tasks(vasteras, { 'patient.address': 'Hemliga' })).toBe(0);
    expect(await tasks(vasteras, { 'subject:Patient.address': 'Hemliga' })).toBe(0);
    expect((await vasteras.search('Encounter', { 'patient.address': 'Hemliga' })).resources).toEqual([]);
    expect(await tasks(vasteras, { 'patient.address': 'Öppna' })).toBe(1);
  });

  it('when a recipient sorts Patients by the address, then the protected one sorts as having none (last either way)', async () => {
    const asc = (await vasteras.search('Patient', { _sort: 'address' })).resources.map((p) => p.id);
    const desc = (await vasteras.search('Patient', { _sort: '-address' })).resources.map((p) => p.id);
    expect(asc).toEqual([ids.open, ids.hidden]);
    expect(desc).toEqual([ids.open, ids.hidden]);
    // the holder sorts by it: "Hemliga" before "Öppna"
    const own = (await hospital.search('Patient', { _sort: 'address' })).resources.map((p) => p.id);
    expect(own).toEqual([ids.hidden, ids.open]);
  });

  it('when the holding hospital, an admin with the right or the gateway searches by the address, then it finds the Patient', async () => {
    for (const privileged of [hospital, adminWithRight, createRepository(db)]) {
      expect(await patients(privileged, { address: 'Hemliga' })).toEqual([ids.hidden]);
      const stays = await privileged.search('Encounter', { 'patient.address': 'Hemliga' });
      expect(stays.resources.map((e) => e.id)).toEqual([ids.e1]);
    }
  });
});
