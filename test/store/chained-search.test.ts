import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { EHR_ENCOUNTER, encounter, municipality, patient, PNR, pnr, task } from './fixtures';

describe.each(testDatabases())('chained search on %s', (kind) => {
  let db: ClosableDb;
  let system: FhirRepository;
  const repos: Record<string, FhirRepository> = {};
  const ids: Record<string, string> = {};
  const pnrA = pnr('19380312', '101');
  const pnrB = pnr('19450601', '202');
  const pnrC = pnr('19500101', '303');

  beforeAll(async () => {
    db = await openTestDb(kind);
    system = createRepository(db);
    const v = await system.create(municipality('1980', 'Västerås stad'));
    const s = await system.create(municipality('1981', 'Sala kommun'));
    const scope = (organization: string, role: AccessScope['role']): AccessScope => ({
      clientId: `c-${organization}`,
      organization,
      role,
    });
    repos.vasteras = createRepository(db, scope(`Organization/${v.id}`, 'municipality'));
    repos.sala = createRepository(db, scope(`Organization/${s.id}`, 'municipality'));
    repos.hospital = createRepository(db, scope('Organization/hosp', 'hospital'));
    const other = createRepository(db, scope('Organization/other-hosp', 'hospital'));
    const w = { author: 'demo-ehr', authorOrganization: 'Organization/hosp' };
    const pa = await repos.hospital.create(patient(pnrA, 'Andersson'), w);
    const pb = await repos.hospital.create(patient(pnrB, 'Berg'), w);
    // a Patient another hospital wrote: the first hospital cannot read it
    const pc = await other.create(patient(pnrC, 'Carlsson'), {
      author: 'other-ehr',
      authorOrganization: 'Organization/other-hosp',
    });
    const ea = await repos.hospital.create(encounter('E-A', `Patient/${pa.id}`), w);
    const eb = await repos.hospital.create({ ...encounter('E-B', `Patient/${pb.id}`), status: 'finished' }, w);
    const req = { requester: { reference: 'Organization/hosp' } };
    const ta = await system.create(
      task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${pa.id}`, `Encounter/${ea.id}`, req),
    );
    const tb = await system.create(
      task('inskrivningsmeddelande', `Organization/${s.id}`, `Patient/${pb.id}`, `Encounter/${eb.id}`, req),
    );
    // the hospital requested this Task, but its Patient is the other hospital's
    const tc = await system.create(
      task('inskrivningsmeddelande', `Organization/${v.id}`, `Patient/${pc.id}`, `Encounter/${ea.id}`, req),
    );
    // Västerås's deviation about Sala's Task: Västerås may not read the Task it is about
    const td = await system.create(
      task('avvikelse', `Organization/${v.id}`, `Patient/${pb.id}`, `Encounter/${eb.id}`, {
        ...req,
        focus: { reference: `Task/${tb.id}` },
      }),
    );
    Object.assign(ids, {
      ta: ta.id!,
      tb: tb.id!,
      tc: tc.id!,
      td: td.id!,
      ea: ea.id!,
      eb: eb.id!,
      pb: pb.id!,
      v: v.id!,
      s: s.id!,
    });
  });
  afterAll(async () => db.close());

  const found = async (repo: FhirRepository, query: Record<string, string>, type = 'Task') =>
    (await repo.search(type as 'Task', query)).resources.map((t) => t.id).sort();

  it('when Tasks are searched by their patient’s personnummer or their stay’s status, then the chain finds them', async () => {
    expect(await found(system, { 'patient.identifier': `${PNR}|${pnrA}` })).toEqual([ids.ta]);
    expect(await found(system, { 'subject:Patient.identifier': pnrB, code: 'inskrivningsmeddelande' })).toEqual([
      ids.tb,
    ]);
    expect(await found(system, { 'patient.name': 'berg', code: 'inskrivningsmeddelande' })).toEqual([ids.tb]);
    expect(await found(system, { 'patient.identifier': `${pnrA},${pnrB}`, code: 'inskrivningsmeddelande' })).toEqual(
      [ids.ta, ids.tb].sort(),
    );
    expect(await found(system, { 'encounter.status': 'finished', code: 'inskrivningsmeddelande' })).toEqual([ids.tb]);
    expect(
      await found(system, { 'encounter.identifier': `${EHR_ENCOUNTER}|E-A`, code: 'inskrivningsmeddelande' }),
    ).toEqual([ids.ta, ids.tc].sort());
  });

  it('when a tenant chains, then only what it may read matches: its own Tasks, through Patients it may see', async () => {
    expect(await found(repos.vasteras!, { 'patient.identifier': pnrA })).toEqual([ids.ta]);
    expect(await found(repos.sala!, { 'patient.identifier': pnrA })).toEqual([]);
    expect(await found(repos.sala!, { 'patient.identifier': pnrB })).toEqual([ids.tb]);
    expect(await found(repos.vasteras!, { 'patient.identifier': pnrB })).toEqual([ids.td]);
    // Västerås sees its deviation, but not Sala's Task it is about: the chain through that Task does not match
    expect(await found(repos.vasteras!, { _id: ids.td! })).toEqual([ids.td]);
    expect(await found(repos.vasteras!, { 'focus:Task.code': 'inskrivningsmeddelande' })).toEqual([]);
    expect(await found(system, { 'focus:Task.code': 'inskrivningsmeddelande' })).toEqual([ids.td]);
    expect(await found(system, { 'patient.identifier': pnrC })).toEqual([ids.tc]);
  });

  it('when a chain has several links (Task → stay → patient, Task → Task → stay), then every resource on the way must be readable', async () => {
    expect(await found(system, { 'encounter.patient.identifier': pnrA })).toEqual([ids.ta, ids.tc].sort());
    expect(await found(repos.vasteras!, { 'encounter.patient.identifier': pnrA })).toEqual([ids.ta, ids.tc].sort());
    expect(await found(repos.sala!, { 'encounter.patient.identifier': pnrA })).toEqual([]);
    expect(await found(system, { 'focus:Task.encounter.status': 'finished' })).toEqual([ids.td]);
    // Västerås's deviation is about Sala's Task, which Västerås may not read: the chain stops there
    expect(await found(repos.vasteras!, { 'focus:Task.encounter.status': 'finished' })).toEqual([]);
    expect(await found(system, { 'focus:Task.encounter.patient.name': 'berg', code: 'avvikelse' }, 'Task')).toEqual([
      ids.td,
    ]);
  });

  it.each([
    ['subject.identifier', 'x', /name the target type, e.g. 'subject:Patient.identifier'/],
    ['status.code', 'x', /'status' is not a reference/],
    ['encounter.patient.organization.partof.name', 'x', /more than 3 links are not supported/],
    ['encounter.patient._has:Task:patient:status', 'x', /_has cannot be part of a chain/],
    ['encounter.nosuch.name', 'x', /Unknown search parameter 'nosuch' for Encounter/],
    ['patient:Encounter.status', 'x', /does not point to Encounter/],
    ['patient.nosuch', 'x', /Unknown search parameter 'nosuch' for Patient/],
    ['patient.identifier:missing', 'true', /does not support the modifier ':missing' in a chain/],
    ['nosuch.identifier', 'x', /Unknown search parameter 'nosuch' for Task/],
  ])('when the chain is %s, then 400 says why', async (key, value, message) => {
    await expect(system.search('Task', { [key]: value })).rejects.toThrow(message);
  });

  it('when stays or patients are searched by what their Tasks say (_has), then they are found, through Tasks the caller may read', async () => {
    const stays = await found(system, { '_has:Task:encounter:owner': `Organization/${ids.v}` }, 'Encounter');
    expect(stays).toEqual([ids.ea, ids.eb].sort()); // ta and tc point to E-A, Västerås's deviation td to E-B
    expect(await found(system, { '_has:Task:encounter:code': 'avvikelse' }, 'Encounter')).toEqual([ids.eb]);
    expect(await found(system, { '_has:Task:patient:code': 'avvikelse' }, 'Patient')).toEqual([ids.pb]);
    // Sala's Task points to E-B too, but Västerås may not read it: through its own deviation only
    expect(await found(repos.vasteras!, { '_has:Task:encounter:owner': `Organization/${ids.s}` }, 'Encounter')).toEqual(
      [],
    );
    expect(await found(repos.sala!, { '_has:Task:encounter:owner': `Organization/${ids.s}` }, 'Encounter')).toEqual([
      ids.eb,
    ]);
    await expect(system.search('Encounter', { '_has:Task:status': 'x' })).rejects.toThrow(/use _has:<Type>/);
    await expect(system.search('Encounter', { '_has:Task:owner:status': 'x' })).rejects.toThrow(
      /Task.owner does not point to Encounter/,
    );
    await expect(system.search('Encounter', { '_has:Nope:encounter:status': 'x' })).rejects.toThrow(/not a type/);
  });
});
