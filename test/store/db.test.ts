import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

describe.each(testDatabases())('database adapter on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  it('when migrated, then the outbox table exists', async () => {
    const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    expect(r.rows[0]?.n).toBe(0);
  });

  it('when a transaction throws, then nothing it wrote is kept', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO outbox (kind) VALUES ('t1')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await db.query("SELECT * FROM outbox WHERE kind = 't1'");
    expect(r.rows).toHaveLength(0);
  });

  it('when a nested transaction throws, then only its savepoint rolls back', async () => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO outbox (kind) VALUES ('outer')");
      await tx
        .transaction(async (sp) =>
          sp.query("INSERT INTO outbox (kind) VALUES ('inner')").then(() => {
            throw new Error('inner fails');
          }),
        )
        .catch(() => undefined);
    });
    const kinds = (await db.query<{ kind: string }>("SELECT kind FROM outbox WHERE kind IN ('outer','inner')")).rows;
    expect(kinds.map((k) => k.kind)).toEqual(['outer']);
  });
});
