import type { Organization, Resource, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { MAX_ITERATE_ROUNDS } from '../../src/store/read-sql';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from './fixtures';

const keys = (rs: Resource[]) => rs.map((r) => `${r.resourceType}/${r.id}`).sort();

describe.each(testDatabases())('_include:iterate and _revinclude:iterate on %s', (kind) => {
  let db: ClosableDb;
  let system: FhirRepository;
  let vasteras: FhirRepository;
  let sala: FhirRepository;
  const id: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDb(kind);
    system = createRepository(db);
    const scope = (organization: string): AccessScope => ({
      clientId: `c-${organization}`,
      organization,
      role: 'municipality',
    });
    id.v = (await system.create(municipality('1980', 'Västerås stad'))).id!;
    id.s = (await system.create(municipality('1981', 'Sala kommun'))).id!;
    id.hosp = (await system.create<Organization>({ resourceType: 'Organization', name: 'Västmanlands sjukhus' })).id!;
    vasteras = createRepository(db, scope(`Organization/${id.v}`));
    sala = createRepository(db, scope(`Organization/${id.s}`));
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const hospital = createRepository(db, { clientId: 'ehr', organization: 'Organization/hosp', role: 'hospital' });
    id.p = (await hospital.create(patient(pnr('19400101', '123')), w)).id!;
    id.e = (
      await hospital.create(
        { ...encounter('E-iter', `Patient/${id.p}`), serviceProvider: { reference: `Organization/${id.hosp}` } },
        w,
      )
    ).id!;
    // a chain of Västerås's Tasks, each part of the one before, and one of Sala's part of the first
    const make = async (owner: string, partOf?: string) =>
      (
        await system.create<Task>(
          task('inskrivningsmeddelande', `Organization/${owner}`, `Patient/${id.p}`, `Encounter/${id.e}`, {
            ...(partOf ? { partOf: [{ reference: `Task/${partOf}` }] } : {}),
          }),
        )
      ).id!;
    id.c1 = await make(id.v);
    for (let i = 2; i <= 6; i++) id[`c${i}`] = await make(id.v, id[`c${i - 1}`]);
    id.sala = await make(id.s, id.c1);
  });
  afterAll(async () => db.close());

  it('when a search includes the stay and iterates to its patient and hospital, then all three come along once', async () => {
    const r = await vasteras.search('Task', {
      _id: id.c2!,
      _include: 'Task:encounter',
      '_include:iterate': ['Encounter:patient', 'Encounter:service-provider'],
    });
    expect(r.resources.map((t) => t.id)).toEqual([id.c2]);
    expect(keys(r.included)).toEqual(
      keys([
        { resourceType: 'Encounter', id: id.e },
        { resourceType: 'Patient', id: id.p },
        { resourceType: 'Organization', id: id.hosp },
      ] as Resource[]),
    );
  });

  it('when Tasks iterate up their part-of chain, then each ancestor is included once and a match is not included again', async () => {
    const r = await system.search('Task', { _id: [`${id.c3},${id.c2}`], '_include:iterate': 'Task:part-of' });
    expect(r.resources.map((t) => t.id).sort()).toEqual([id.c2, id.c3].sort());
    expect(r.included.map((t) => t.id)).toEqual([id.c1]);
    expect(r.notes).toBeUndefined();
  });

  it(`when the chain is longer than ${MAX_ITERATE_ROUNDS} rounds, then the rest is left out and a note says so`, async () => {
    const r = await system.search('Task', { _id: id.c6!, '_include:iterate': 'Task:part-of' });
    expect(r.included.map((t) => t.id).sort()).toEqual([id.c2, id.c3, id.c4, id.c5].sort());
    expect(r.notes?.join(' ')).toMatch(/stopped after 4 rounds/);
  });

  it('when a municipality iterates down the chain with _revinclude:iterate, then only its own Tasks come along', async () => {
    const all = await system.search('Task', { _id: id.c1!, '_revinclude:iterate': 'Task:part-of' });
    expect(all.included.map((t) => t.id).sort()).toEqual(
      [id.c2, id.c3, id.c4, id.c5, id.sala].sort(), // c6 is a fifth round away
    );
    const own = await vasteras.search('Task', { _id: id.c1!, '_revinclude:iterate': 'Task:part-of' });
    expect(own.included.map((t) => t.id)).not.toContain(id.sala);
    expect(own.included).toHaveLength(4);
    // Sala's Task points to Västerås's first Task: iterating up from it finds nothing Sala may not read
    const up = await sala.search('Task', { _id: id.sala!, '_include:iterate': 'Task:part-of' });
    expect(up.resources.map((t) => t.id)).toEqual([id.sala]);
    expect(up.included).toEqual([]);
  });

  it.each([
    ['_include:iterate', 'Nope:part-of', /_include:iterate 'Nope:part-of' is not supported/],
    ['_include:iterate', 'Task:status', /is not supported/],
    ['_include:iterate', 'Task:patient:Encounter', /never points to Encounter/],
    ['_revinclude:iterate', 'Task:patient:Encounter', /never points to Encounter/],
  ])('when %s is %s, then 400 says why', async (key, value, message) => {
    await expect(system.search('Task', { [key]: value })).rejects.toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(message),
    });
  });
});
