import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isGatewayError } from '../../src/platform/errors';
import { type ClosableDb } from '../../src/store/db.port';
import { writeVersions, type VersionWrite } from '../../src/store/write-sql';
import { recordMessages } from '../support/record-messages';
import { openTestDb, testDatabases } from '../support/db';

// ADR 043: the resource write checks itself (svu_all_written raises SVU01 when a version was not written), so on
// PostgreSQL a transaction holds it and sends it with its next statement or with COMMIT.

const version = (id: string, prevVersion: number): VersionWrite => ({
  type: 'Patient',
  id,
  prevVersion,
  version: prevVersion + 1,
  lastUpdated: new Date().toISOString(),
  resource: { resourceType: 'Patient', id, meta: { versionId: String(prevVersion + 1) } },
  method: prevVersion === 0 ? 'POST' : 'PUT',
  action: prevVersion === 0 ? 'create' : 'update',
  opts: {},
});

const current = async (db: ClosableDb, id: string): Promise<number | undefined> =>
  (
    await db.query<{ v: number }>(
      `SELECT version_id AS v FROM fhir_resource WHERE resource_type = 'Patient' AND id = $1`,
      [id],
    )
  ).rows[0]?.v;

describe.each(testDatabases())('a write that checks itself, on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind, { max: 1 });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('when a version is written over the current one, then it is stored', async () => {
    await db.transaction((tx) => writeVersions(tx, [version('held-1', 0)]));
    await db.transaction((tx) => writeVersions(tx, [version('held-1', 1)]));
    expect(await current(db, 'held-1')).toBe(2);
  });

  it('when another transaction wrote the version first, then the write fails with version-conflict and nothing of its transaction is stored', async () => {
    await db.transaction((tx) => writeVersions(tx, [version('held-2', 0)]));
    const err = await db
      .transaction(async (tx) => {
        await writeVersions(tx, [version('held-3', 0), version('held-2', 0)]); // held-2 exists: not written
        await tx.query('SELECT count(*) FROM fhir_resource WHERE id = $1', ['held-3']);
      })
      .catch((e: unknown) => e);
    expect(isGatewayError(err) && err.code).toBe('version-conflict');
    expect(await current(db, 'held-3')).toBeUndefined();
  });

  it('when the failed write was the last statement, then COMMIT does not store the rest', async () => {
    const err = await db
      .transaction(async (tx) => {
        await writeVersions(tx, [version('held-4', 0)]);
        await writeVersions(tx, [version('held-2', 5)]);
      })
      .catch((e: unknown) => e);
    expect(isGatewayError(err) && err.code).toBe('version-conflict');
    expect(await current(db, 'held-4')).toBeUndefined();
  });

  it('when the failing write was inside a savepoint, then only the savepoint is rolled back', async () => {
    await db.transaction(async (tx) => {
      await writeVersions(tx, [version('held-5', 0)]);
      const inner = await tx
        .transaction((sp) => writeVersions(sp, [version('held-2', 7)]))
        .catch((e: unknown) => (isGatewayError(e) ? e.code : 'other'));
      expect(inner).toBe('version-conflict');
    });
    expect(await current(db, 'held-5')).toBe(1);
  });

  it('when a caller swallows a failed statement, then the transaction does not report success', async () => {
    await expect(
      db.transaction(async (tx) => {
        await writeVersions(tx, [version('held-6', 0)]);
        await tx.query('SELECT 1/0').catch(() => undefined);
      }),
    ).rejects.toThrow();
    expect(await current(db, 'held-6')).toBeUndefined();
  });
});

const run = process.env.DATABASE_URL ? describe : describe.skip;

run('held writes travel with the next statement, on PostgreSQL', () => {
  let db: ClosableDb;
  const sent: string[] = [];
  beforeAll(async () => {
    db = await openTestDb('postgres', { max: 1 });
    // the write statement gets its name on its third run (ADR 032) and is then prepared on the connection: held
    // from then on by name
    for (let i = 0; i < 4; i++) await db.transaction((tx) => writeVersions(tx, [version(`warm-${i}`, 0)]));
  });
  afterAll(async () => {
    await db?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    sent.length = 0;
  });

  it('when a write is the last statement, then it travels with COMMIT (and with BEGIN): one message', async () => {
    recordMessages(sent);
    await db.transaction((tx) => writeVersions(tx, [version('msg-1', 0)]));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^BEGIN;\nWITH input AS .*;\nCOMMIT$/s);
    expect(await current(db, 'msg-1')).toBe(1);
  });

  it('when a statement follows the write, then the write travels with it and the statement sees it', async () => {
    recordMessages(sent);
    const seen = await db.transaction(async (tx) => {
      await writeVersions(tx, [version('msg-2', 0)]);
      return tx.query<{ n: number }>('SELECT count(*)::int AS n FROM fhir_resource WHERE id = $1', ['msg-2']);
    });
    expect(seen.rows[0]?.n).toBe(1);
    expect(sent[0]).toMatch(/^BEGIN;\nWITH input AS .*;\nSELECT count\(\*\)::int AS n FROM fhir_resource/s);
  });
});
