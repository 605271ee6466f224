import type { Bundle, Encounter, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, patient, PNR } from './fixtures';

function admission(pnr: string, ehrId: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:6f1c5b2e-0000-4000-8000-000000000001',
        resource: patient(pnr),
        request: { method: 'PUT', url: `Patient?identifier=${PNR}|${pnr}` },
      },
      {
        fullUrl: 'urn:uuid:6f1c5b2e-0000-4000-8000-000000000002',
        resource: encounter(ehrId, 'urn:uuid:6f1c5b2e-0000-4000-8000-000000000001'),
        request: { method: 'POST', url: 'Encounter', ifNoneExist: `identifier=${ehrId}` },
      },
    ],
  };
}

describe.each(testDatabases())('Bundles in the repository on %s', (kind) => {
  let db: ClosableDb;
  let repo: FhirRepository;
  beforeAll(async () => {
    db = await openTestDb(kind);
    repo = createRepository(db);
  });
  afterAll(async () => db.close());

  it('when a transaction posts Patient + Encounter with urn:uuid references, then the reference is resolved', async () => {
    const out = await repo.processBundle(admission('191212121212', 'T-1'));
    expect(out.type).toBe('transaction-response');
    expect(out.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
    const p = out.entry?.[0]?.resource as Patient;
    const e = out.entry?.[1]?.resource as Encounter;
    expect(e.subject?.reference).toBe(`Patient/${p.id}`);
    expect((await repo.read<Encounter>('Encounter', e.id!)).subject?.reference).toBe(`Patient/${p.id}`);
    // new ids are time-ordered (UUID version 7, ADR 037)
    for (const id of [p.id, e.id]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('when the same transaction is sent twice, then nothing changes the second time', async () => {
    const first = await repo.processBundle(admission('194001011234', 'T-2'));
    const outbox = (await db.query('SELECT id FROM outbox')).rows.length;
    const second = await repo.processBundle(admission('194001011234', 'T-2'));
    expect(second.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK']);
    expect(second.entry?.map((e) => e.resource?.id)).toEqual(first.entry?.map((e) => e.resource?.id));
    expect(second.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['1', '1']);
    expect((await db.query('SELECT id FROM outbox')).rows.length).toBe(outbox);
  });

  it('when one entry of a transaction fails, then nothing of the transaction is kept and the entry is named', async () => {
    const b = admission('195001011234', 'T-3');
    b.entry!.push({
      resource: { ...patient('195001011234'), id: 'x' },
      request: { method: 'PUT', url: 'Patient/x' },
      fullUrl: 'Patient/x',
    });
    b.entry![2]!.request!.ifMatch = 'W/"7"';
    await expect(repo.processBundle(b)).rejects.toMatchObject({
      code: 'version-conflict',
      message: expect.stringContaining('Bundle.entry[2]'),
    });
    expect((await repo.search('Encounter', { identifier: 'T-3' })).resources).toHaveLength(0);
    expect((await repo.search('Patient', { identifier: '195001011234' })).resources).toHaveLength(0);
  });

  it('when a batch has a failing entry, then the others still succeed, each with its own status', async () => {
    const out = await repo.processBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('196001011234'), request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { resource: patient('196001011234'), request: { method: 'POST', url: 'Basic' } },
        { request: { method: 'GET', url: 'Patient?identifier=196001011234' } },
      ],
    });
    expect(out.entry?.map((e) => e.response?.status)).toEqual([
      '201 Created',
      '404 Not Found',
      '400 Bad Request',
      '200 OK',
    ]);
    expect(out.entry?.[1]?.response?.outcome?.issue?.[0]?.code).toBe('not-found');
    expect((out.entry?.[3]?.resource as Bundle).entry).toHaveLength(1);
  });

  it('when a transaction deletes and reads, then deletes run first and reads last', async () => {
    const p = await repo.create(patient('197001011234'));
    const out = await repo.processBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient?_id=${p.id}` } },
        { request: { method: 'DELETE', url: `Patient/${p.id}` } },
      ],
    });
    expect(out.entry?.[1]?.response?.status).toBe('204 No Content');
    expect((out.entry?.[0]?.resource as Bundle).entry).toHaveLength(0);
  });

  it('when a Bundle is not batch or transaction, then it is rejected', async () => {
    await expect(repo.processBundle({ resourceType: 'Bundle', type: 'collection' })).rejects.toMatchObject({
      code: 'bad-request',
    });
  });

  it('when the same admission Bundle arrives concurrently, then exactly one Patient and one Encounter exist', async () => {
    const outs = await Promise.all([1, 2, 3].map(() => repo.processBundle(admission('198801011234', 'T-C'))));
    const created = outs.flatMap((o) => o.entry ?? []).filter((e) => e.response?.status === '201 Created');
    expect(created).toHaveLength(2);
    expect((await repo.search('Patient', { identifier: '198801011234' })).resources).toHaveLength(1);
    expect((await repo.search('Encounter', { identifier: 'T-C' })).resources).toHaveLength(1);
  });

  it('when a transaction updates by id, creates with a named id and repeats a target, then ids are honoured and repeats refused', async () => {
    const p = await repo.create(patient('198901011234'));
    const out = await repo.processBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...p, gender: 'female' }, request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: 'W/"1"' } },
        {
          resource: { ...patient('198902011234'), id: 'named-1' },
          request: { method: 'PUT', url: 'Patient?identifier=198902011234' },
        },
      ],
    });
    expect(out.entry?.map((e) => [e.response?.status, e.resource?.id, e.resource?.meta?.versionId])).toEqual([
      ['200 OK', p.id, '2'],
      ['201 Created', 'named-1', '1'],
    ]);
    await expect(
      repo.processBundle({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...p, gender: 'male' }, request: { method: 'PUT', url: `Patient/${p.id}` } },
          { resource: { ...p, gender: 'other' }, request: { method: 'PUT', url: `Patient/${p.id}` } },
        ],
      }),
    ).rejects.toMatchObject({ code: 'bad-request', message: expect.stringContaining('more than one entry') });
  });
});
