import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { migrate } from '../../src/store/migrate';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from './fixtures';

/**
 * Migration 172: the live rows' (type, id) in an index of their own (`fhir_resource_live`), so `_total=accurate`
 * checks each match for `NOT deleted` in the index, not in the table (docs/performance.md, "2026-12-07, afternoon").
 * A deleted resource is in the table, not in the index, and never counted.
 */
describe.each(testDatabases())('the live rows index on %s', (kind) => {
  let db: ClosableDb;
  let repo: FhirRepository;

  beforeAll(async () => {
    db = await openTestDb(kind);
    repo = createRepository(db);
    const org = await repo.create(municipality('1980', 'Västerås stad'));
    const p = await repo.create(patient('191212121212'));
    const e = await repo.create(encounter('E1', `Patient/${p.id}`));
    for (let i = 0; i < 3; i++)
      await repo.create(
        task('inskrivningsmeddelande', `Organization/${org.id}`, `Patient/${p.id}`, `Encounter/${e.id}`),
      );
    const gone = await repo.create(
      task('inskrivningsmeddelande', `Organization/${org.id}`, `Patient/${p.id}`, `Encounter/${e.id}`),
    );
    await repo.delete('Task', gone.id!);
  });
  afterAll(async () => db.close());

  const index = async () =>
    (
      await db.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE tablename = 'fhir_resource' AND indexname = 'fhir_resource_live'`,
      )
    ).rows[0]?.indexdef;

  it('when the store is migrated, then the live rows have their index, and a store without it gets it', async () => {
    expect(await index()).toMatch(/\(resource_type, id\) WHERE \(NOT deleted\)/);
    await db.query('DROP INDEX fhir_resource_live');
    await db.query(`DELETE FROM schema_migrations WHERE name = '172_fhir_resource_live.sql'`);
    expect(await migrate(db)).toEqual(['172_fhir_resource_live.sql']);
    expect(await index()).toMatch(/WHERE \(NOT deleted\)/);
  });

  it('when the matches are counted, then a deleted resource is not among them', async () => {
    expect((await repo.search('Task', { status: 'requested', _total: 'accurate' })).total).toBe(3);
    expect((await repo.search('Task', { _summary: 'count' })).total).toBe(3);
  });
});
