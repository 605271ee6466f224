import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { indexRows } from '../../src/store/index-rows';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { OWNER_STATUS } from '../../src/store/search-params';
import { planSearch } from '../../src/store/search-sql';
import { openTestDb, testDatabases } from '../support/db';
import { task } from './fixtures';

/**
 * A Task's (owner, status) key (search-params.ts, `OWNER_STATUS`): one index row per Task version, written with the
 * version's other index rows, and for the Tasks stored before by migration 006 (`svu_task_owner_status_backfill`).
 * The planner drives an exact owner and status search from it when it is rare, so it must stay what the Task's own
 * owner and status rows say through every write: here compared with what the backfill makes of those rows.
 */
describe.each(testDatabases())("a Task's (owner, status) key, on %s", (kind) => {
  let db: ClosableDb;
  let repo: FhirRepository;
  beforeAll(async () => {
    db = await openTestDb(kind);
    repo = createRepository(db);
  });
  afterAll(async () => db.close());

  const keys = async () =>
    (
      await db.query<{ resource_id: string; system: string | null; value: string }>(
        `SELECT resource_id, system, value FROM fhir_search WHERE resource_type = 'Task' AND param = $1 ORDER BY 1, 2, 3`,
        [OWNER_STATUS],
      )
    ).rows;

  it('when a Task has an owner and a status, then its index rows hold one key of both', () => {
    const t = { ...task('x', 'Organization/kommun-1', 'Patient/p', 'Encounter/e'), id: 't' } as Task;
    const rows = indexRows(t);
    const at = rows.param.indexOf(OWNER_STATUS);
    expect([rows.system[at], rows.value[at], rows.param.filter((p) => p === OWNER_STATUS).length]).toEqual([
      'Organization',
      'kommun-1|requested',
      1,
    ]);
    const { owner: _owner, ...ownerless } = t;
    expect(indexRows(ownerless).param).not.toContain(OWNER_STATUS);
  });

  it('when Tasks are created, updated, handed over, left without owner and deleted, then the keys are what the backfill makes of their rows', async () => {
    const a = await repo.create(task('a', 'Organization/kommun-1', 'Patient/p', 'Encounter/e'));
    const b = await repo.create(task('b', 'Organization/kommun-1', 'Patient/p', 'Encounter/e'));
    const c = await repo.create(task('c', 'Organization/kommun-2', 'Patient/p', 'Encounter/e'));
    const d = await repo.create(task('d', 'Organization/kommun-2', 'Patient/p', 'Encounter/e'));
    await repo.update<Task>({ ...a, status: 'completed' });
    await repo.update<Task>({ ...b, owner: { reference: 'Organization/kommun-3' }, status: 'accepted' });
    const { owner: _owner, ...ownerless } = c;
    await repo.update<Task>(ownerless);
    await repo.delete('Task', d.id!);
    const written = await keys();
    expect(written).toEqual(
      [
        { resource_id: a.id, system: 'Organization', value: 'kommun-1|completed' },
        { resource_id: b.id, system: 'Organization', value: 'kommun-3|accepted' },
      ].sort((x, y) => String(x.resource_id).localeCompare(String(y.resource_id))),
    );
    // the migration's backfill, on a store whose Tasks have no key yet, writes the same
    await db.query(`DELETE FROM fhir_search WHERE resource_type = 'Task' AND param = $1`, [OWNER_STATUS]);
    await db.query('SELECT svu_task_owner_status_backfill()');
    await db.query('SELECT svu_task_owner_status_backfill()'); // and again: nothing more
    expect(await keys()).toEqual(written);
    // and the searches find by it
    const found = await repo.search<Task>('Task', { owner: 'Organization/kommun-1', status: 'completed,accepted' });
    expect(found.resources.map((t) => t.id)).toEqual([a.id]);
  });

  it('when a Task search has an exact owner and status, then the key is among what it may be driven from, and not otherwise', () => {
    const admin = { role: 'admin' as const, clientId: 'admin' };
    const fromKey = (search: Record<string, string | string[]>) =>
      planSearch('Task', search, admin).drivers?.params.values.includes(OWNER_STATUS) ?? false;
    expect(fromKey({ owner: 'Organization/kommun-1', status: 'requested' })).toBe(true);
    expect(fromKey({ owner: 'kommun-1,Organization/kommun-2', status: 'requested,received' })).toBe(true);
    expect(fromKey({ owner: 'Organization/kommun-1', status: 'requested', code: 'x' })).toBe(true);
    expect(fromKey({ owner: 'Organization/kommun-1', 'status:not': 'requested' })).toBe(false);
    expect(fromKey({ 'owner:missing': 'false', status: 'requested' })).toBe(false);
    expect(fromKey({ owner: 'Organization/kommun-1', status: 'http://hl7.org/fhir/task-status|requested' })).toBe(
      false,
    );
    expect(fromKey({ owner: 'Organization/kommun-1' })).toBe(false);
    // a selective parameter or a chain: planned as before, without counting
    expect(fromKey({ owner: 'Organization/kommun-1', status: 'requested', encounter: 'Encounter/e' })).toBe(false);
    expect(fromKey({ owner: 'Organization/kommun-1', status: 'requested', 'encounter.status': 'finished' })).toBe(
      false,
    );
  });
});
