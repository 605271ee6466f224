import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/store/db.pglite';
import { migrate } from '../../src/store/migrate';
import { createRepository } from '../../src/store/repository.pg';

const MIGRATIONS = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));
const HISTORY_MOVE = '005_history_of_replaced_versions.sql';

describe('migration 005: the current version leaves the history table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svu-migrations-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when a database written before it is migrated, then every version still reads back once', async () => {
    for (const f of readdirSync(MIGRATIONS)) if (f !== HISTORY_MOVE) cpSync(join(MIGRATIONS, f), join(dir, f));
    const db = await openPglite();
    await migrate(db, dir);
    // as the store wrote before: the current version both in fhir_resource and in the history
    const v1 = JSON.stringify({ resourceType: 'Patient', id: 'p1', meta: { versionId: '1' }, gender: 'male' });
    const v2 = JSON.stringify({ resourceType: 'Patient', id: 'p1', meta: { versionId: '2' }, gender: 'female' });
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, content) VALUES ('Patient', 'p1', 2, '2026-01-02T00:00:00Z', $1)`,
      [v2],
    );
    await db.query(
      `INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, method, content) VALUES
         ('Patient', 'p1', 1, '2026-01-01T00:00:00Z', 'POST', $1), ('Patient', 'p1', 2, '2026-01-02T00:00:00Z', 'PUT', $2)`,
      [v1, v2],
    );

    expect(await migrate(db)).toEqual([HISTORY_MOVE]);
    const kept = await db.query<{ version_id: number }>('SELECT version_id FROM fhir_resource_history');
    expect(kept.rows.map((r) => r.version_id)).toEqual([1]);
    const repo = createRepository(db);
    const history = await repo.history('Patient', 'p1');
    expect(history.map((e) => [e.versionId, e.method])).toEqual([
      ['2', 'PUT'],
      ['1', 'POST'],
    ]);
    expect((await repo.vread('Patient', 'p1', '1')).meta?.versionId).toBe('1');
    expect((await repo.vread('Patient', 'p1', '2')).meta?.versionId).toBe('2');
    // and the next write moves version 2 into the history
    const p = await repo.read('Patient', 'p1');
    await repo.update({ ...p, gender: 'other' });
    expect((await repo.history('Patient', 'p1')).map((e) => e.versionId)).toEqual(['3', '2', '1']);
    await db.close();
  });
});
