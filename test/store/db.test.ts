import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSession, type ClosableDb } from '../../src/store/db.port';
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

  it('when migrated, then recording events plans once per connection on PostgreSQL and per call on PGlite (no autovacuum there)', async () => {
    const r = await db.query<{ config: string[] | null }>(
      "SELECT proconfig AS config FROM pg_proc WHERE proname = 'svu_record_events'",
    );
    expect(r.rows).toHaveLength(1);
    if (kind === 'postgres') expect(r.rows[0]?.config).toEqual(['plan_cache_mode=force_generic_plan']);
    else expect(r.rows[0]?.config ?? []).toEqual([]);
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

  it('when work runs in a session, then it keeps one connection, each statement commits on its own, and a transaction in it is whole', async () => {
    const pids = await inSession(db, async (conn) => {
      const one = (await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
      await conn.query("INSERT INTO outbox (kind) VALUES ('s-own')");
      await conn
        .transaction(async (tx) => {
          await tx.query("INSERT INTO outbox (kind) VALUES ('s-tx')");
          throw new Error('tx fails');
        })
        .catch(() => undefined);
      await conn.transaction((tx) => tx.query("INSERT INTO outbox (kind) VALUES ('s-tx-ok')"));
      // Committed already: another connection sees it while the session is still open.
      const seen = (await db.query("SELECT 1 FROM outbox WHERE kind = 's-own'")).rows.length;
      const two = (await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
      return { one, two, seen };
    });
    expect(pids.one).toBe(pids.two);
    expect(pids.seen).toBe(1);
    const kinds = (await db.query<{ kind: string }>("SELECT kind FROM outbox WHERE kind LIKE 's-%' ORDER BY id")).rows;
    expect(kinds.map((k) => k.kind)).toEqual(['s-own', 's-tx-ok']);
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
