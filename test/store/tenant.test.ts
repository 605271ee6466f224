import type { Subscription, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { SUBSCRIPTION_SECRET_URL } from '../../src/store/resource-util';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from './fixtures';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'ok';
}

describe.each(testDatabases())('tenant isolation in the repository on %s', (kind) => {
  let db: ClosableDb;
  let system: FhirRepository;
  let vasteras: FhirRepository;
  let sala: FhirRepository;
  let hospital: FhirRepository;
  let otherHospital: FhirRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    system = createRepository(db);
    const v = await system.create(municipality('1980', 'Västerås stad'));
    const s = await system.create(municipality('1981', 'Sala kommun'));
    ids.vasteras = v.id!;
    ids.sala = s.id!;
    const scope = (organization: string, role: AccessScope['role']): AccessScope => ({
      clientId: `c-${organization}`,
      organization,
      role,
    });
    vasteras = createRepository(db, scope(`Organization/${v.id}`, 'municipality'));
    sala = createRepository(db, scope(`Organization/${s.id}`, 'municipality'));
    hospital = createRepository(db, scope('Organization/hosp', 'hospital'));
    otherHospital = createRepository(db, scope('Organization/other-hosp', 'hospital'));
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const p1 = await hospital.create(patient('191212121212'), w);
    const p2 = await hospital.create(patient('194001011234'), w);
    const e1 = await hospital.create(encounter('E1', `Patient/${p1.id}`), w);
    const e2 = await hospital.create(encounter('E2', `Patient/${p2.id}`), w);
    ids.p1 = p1.id!;
    ids.p2 = p2.id!;
    ids.e1 = e1.id!;
    ids.e2 = e2.id!;
    const t1 = await system.create(
      task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${p1.id}`, `Encounter/${e1.id}`),
    );
    const t2 = await system.create(
      task('inskrivningsmeddelande', `Organization/${s.id}`, `Patient/${p2.id}`, `Encounter/${e2.id}`),
    );
    ids.t1 = t1.id!;
    ids.t2 = t2.id!;
  });
  afterAll(async () => db.close());

  it('when a municipality searches Tasks, then it sees only its own, with a matching total', async () => {
    const r = await vasteras.search('Task', { _total: 'accurate' });
    expect(r.resources.map((t) => t.id)).toEqual([ids.t1]);
    expect(r.total).toBe(1);
    expect((await sala.search('Task', {})).resources.map((t) => t.id)).toEqual([ids.t2]);
  });

  it('when a municipality reads a Patient or Encounter its Task points to, then it may; others are not-found', async () => {
    expect((await vasteras.read('Patient', ids.p1!)).id).toBe(ids.p1);
    expect((await vasteras.read('Encounter', ids.e1!)).id).toBe(ids.e1);
    expect(await code(vasteras.read('Patient', ids.p2!))).toBe('not-found');
    expect(await code(vasteras.read('Task', ids.t2!))).toBe('not-found');
    // the locking read (read-modify-write inside a transaction) applies the same rules
    expect((await vasteras.readForUpdate('Encounter', ids.e1!)).id).toBe(ids.e1);
    expect(await code(vasteras.readForUpdate('Patient', ids.p2!))).toBe('not-found');
    expect(await code(vasteras.readForUpdate('Task', ids.t2!))).toBe('not-found');
    expect((await vasteras.search('Patient', {})).resources.map((p) => p.id)).toEqual([ids.p1]);
  });

  it('when a municipality includes the Task patient, then only visible targets come along', async () => {
    const r = await vasteras.search('Task', { _include: ['Task:patient', 'Task:encounter'] });
    expect(r.included.map((x) => `${x.resourceType}/${x.id}`).sort()).toEqual(
      [`Encounter/${ids.e1}`, `Patient/${ids.p1}`].sort(),
    );
  });

  it('when a hospital reads, then it sees what its organisation wrote and not what another hospital wrote', async () => {
    expect((await hospital.search('Encounter', {})).resources).toHaveLength(2);
    expect((await otherHospital.search('Encounter', {})).resources).toHaveLength(0);
    expect(await code(otherHospital.read('Patient', ids.p1!))).toBe('not-found');
    expect(await code(otherHospital.update({ ...patient('191212121212'), id: ids.p1! }))).toBe('not-found');
  });

  it('when anyone reads the directory, then it is visible; when a tenant writes it, then it is forbidden', async () => {
    expect((await sala.search('Organization', { identifier: '1980' })).resources).toHaveLength(1);
    expect(await code(sala.create(municipality('9999', 'Fake')))).toBe('forbidden');
  });

  it('when a municipality updates its own Task, then it succeeds; another municipality gets not-found', async () => {
    const t = await vasteras.read<Task>('Task', ids.t1!);
    // the owner may not complete a notice it has not received: the refusal says that, not "only its status"
    await expect(vasteras.update({ ...t, status: 'completed' })).rejects.toMatchObject({
      code: 'forbidden',
      message:
        "The owner may not move a Task from 'requested' to 'completed' (allowed from 'requested': received, accepted, rejected)",
    });
    expect(await code(vasteras.update({ ...t, status: 'received' }))).toBe('ok');
    expect(await code(sala.update({ ...t, status: 'rejected' }))).toBe('not-found');
    expect(await code(sala.delete('Task', ids.t1!))).toBe('not-found');
  });

  it('when a Subscription with a secret is read, then only the system scope gets the secret', async () => {
    const sub: Subscription = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'test',
      criteria: `Task?owner=Organization/${ids.vasteras}`,
      channel: { type: 'rest-hook', endpoint: 'http://localhost/hook', payload: 'application/fhir+json' },
      extension: [{ url: SUBSCRIPTION_SECRET_URL, valueString: 's3cret' }],
    };
    const w = { author: 'demo-vasteras', authorOrganization: `Organization/${ids.vasteras}` };
    const created = await vasteras.create(sub, w);
    expect(created.extension).toBeUndefined();
    expect((await vasteras.read<Subscription>('Subscription', created.id!)).extension).toBeUndefined();
    expect((await vasteras.search<Subscription>('Subscription', {})).resources[0]?.extension).toBeUndefined();
    expect((await vasteras.history('Subscription', created.id))[0]?.resource).not.toHaveProperty('extension');
    expect(await code(sala.read('Subscription', created.id!))).toBe('not-found');
    const full = await system.read<Subscription>('Subscription', created.id!);
    expect(full.extension?.[0]?.valueString).toBe('s3cret');
    // a patch of what it sees (its reason) keeps the secret it does not see, and still does not show it
    const patched = await vasteras.patch<Subscription>(
      'Subscription',
      created.id!,
      (s) => ({ ...s, reason: 'new' }),
      w,
    );
    expect(patched).toMatchObject({ reason: 'new' });
    expect(patched.extension).toBeUndefined();
    const after = await system.read<Subscription>('Subscription', created.id!);
    expect([after.reason, after.extension?.[0]?.valueString]).toEqual(['new', 's3cret']);
    expect(await code(sala.patch('Subscription', created.id!, (s) => s))).toBe('not-found');
  });

  it('when a tenant reads type history, then it sees only versions of resources it may see', async () => {
    const h = await sala.history('Task');
    expect(new Set(h.map((e) => e.id))).toEqual(new Set([ids.t2]));
  });

  it('when a tenant writes a Task or stay pointing to a stay it cannot read, then it is refused and the stay stays hidden', async () => {
    // a Task a tenant owns (a hospital: or requested) opens the Patient and Encounter it points to, so a tenant must
    // not open another tenant's stay by writing such a Task itself: as a create, an update that creates (PUT with a
    // new id), or by pointing a Task of its own elsewhere
    const salaW = { author: 'demo-sala', authorOrganization: `Organization/${ids.sala}` };
    const own = `Organization/${ids.sala}`;
    const smuggled = task('inskrivningsmeddelande', own, `Patient/${ids.p1}`, `Encounter/${ids.e1}`);
    await expect(sala.create(smuggled, salaW)).rejects.toMatchObject({
      code: 'rule-violation',
      message: expect.stringContaining(`Patient/${ids.p1} is not known (or not visible to you)`),
    });
    expect(await code(sala.update({ ...smuggled, id: 'smuggled-1' }, salaW))).toBe('rule-violation');
    expect(await code(sala.update({ ...smuggled, for: undefined, id: 'smuggled-2' }, salaW))).toBe('rule-violation');
    expect(
      await code(
        sala.update(
          { ...smuggled, encounter: undefined, focus: { reference: `Encounter/${ids.e1}` }, id: 'smuggled-3' },
          salaW,
        ),
      ),
    ).toBe('rule-violation');
    expect(await code(sala.read('Patient', ids.p1!))).toBe('not-found');
    expect(await code(sala.read('Encounter', ids.e1!))).toBe('not-found');
    expect((await sala.search('Patient', {})).resources.map((p) => p.id)).toEqual([ids.p2]);
    // another hospital neither, as the Task's requester
    const otherW = { author: 'other-ehr', authorOrganization: 'Organization/other-hosp' };
    const asked = task('kallelse-sip', own, `Patient/${ids.p1}`, `Encounter/${ids.e1}`, {
      requester: { reference: 'Organization/other-hosp' },
    });
    expect(await code(otherHospital.create(asked, otherW))).toBe('rule-violation');
    // nor by writing a stay of that patient (the gateway would derive the stay's Tasks, requested by it)
    expect(await code(otherHospital.create(encounter('E9', `Patient/${ids.p1}`), otherW))).toBe('rule-violation');
    expect(await code(otherHospital.read('Patient', ids.p1!))).toBe('not-found');
    // what it may read it may point to: a Task of the stay it reaches, and a hospital's Task of its own stay
    expect(await code(sala.create(task('ovrigt', own, `Patient/${ids.p2}`, `Encounter/${ids.e2}`), salaW))).toBe('ok');
    const hospW = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const mine = await hospital.create(
      task('kallelse-sip', own, `Patient/${ids.p1}`, `Encounter/${ids.e1}`, {
        requester: { reference: 'Organization/hosp' },
      }),
      hospW,
    );
    // the hospital may not re-point its Task to a stay it does not hold either
    const p3 = await otherHospital.create(patient('195505051234'), otherW);
    expect(await code(hospital.update({ ...mine, for: { reference: `Patient/${p3.id}` } }, hospW))).toBe(
      'rule-violation',
    );
    expect(await code(hospital.read('Patient', p3.id!))).toBe('not-found');
  });
});
