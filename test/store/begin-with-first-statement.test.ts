import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ClosableDb } from '../../src/store/db.port';
import { lockQueries } from '../../src/store/write-sql';
import { lockStays } from '../../src/intake/stay/stay-rows.pg';
import { openTestDb } from '../support/db';

// A transaction's BEGIN goes out with its first statement when that statement has no parameters (PgTx), so the
// lock statements that open write transactions cost no round trip of their own.

const run = process.env.DATABASE_URL ? describe : describe.skip;

run('BEGIN sent with the first statement, on PostgreSQL', () => {
  let db: ClosableDb;
  const sent: string[] = [];
  beforeAll(async () => {
    db = await openTestDb('postgres', { max: 1 });
    await db.query('CREATE TABLE begin_t (a int PRIMARY KEY)');
  });
  afterAll(async () => {
    await db?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    sent.length = 0;
  });
  /** Records the text of every message the connection sends (one per round trip). */
  function recordRoundTrips(): void {
    const query = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const first: unknown = args[0];
      sent.push(typeof first === 'string' ? first : ((first as { text?: string }).text ?? ''));
      return query.apply(this, args);
    });
  }

  it('when a transaction opens with the criteria and stay locks, then BEGIN travels with the first lock and nothing else gains a round trip', async () => {
    recordRoundTrips();
    await db.transaction(async (tx) => {
      await lockQueries(tx, ["Patient?identifier=x|it's"]);
      await lockStays(tx, ['enc-1', 'visit:a|b']);
      await tx.query('INSERT INTO begin_t VALUES ($1)', [1]);
    });
    expect(sent).toHaveLength(4);
    expect(sent[0]).toMatch(/^BEGIN;\s*SELECT count\(pg_advisory_xact_lock/);
    expect(sent[3]).toBe('COMMIT');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM begin_t')).rows[0]?.n).toBe(1);
  });

  it('when the first statement has parameters, then BEGIN goes first on its own, as before', async () => {
    recordRoundTrips();
    await db.transaction((tx) => tx.query('INSERT INTO begin_t VALUES ($1)', [2]));
    expect(sent).toEqual(['BEGIN', 'INSERT INTO begin_t VALUES ($1)', 'COMMIT']);
  });

  it('when a transaction sends nothing, then neither BEGIN nor COMMIT is sent', async () => {
    recordRoundTrips();
    expect(await db.transaction(() => Promise.resolve('nothing'))).toBe('nothing');
    expect(sent).toEqual([]);
  });

  it('when the work fails after the first statement, then the whole transaction is rolled back and the connection serves the next one', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO begin_t SELECT 10');
        await tx.query('INSERT INTO begin_t VALUES ($1)', [10]); // duplicate key
      }),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1/0');
      }),
    ).rejects.toThrow(/division by zero/);
    const r = await db.transaction((tx) =>
      tx.query<{ n: number }>('SELECT count(*)::int AS n FROM begin_t WHERE a = 10'),
    );
    expect(r.rows[0]?.n).toBe(0);
    const state = await db.query<{ open: boolean }>('SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS open');
    expect(state.rows[0]?.open).toBe(false);
  });

  it('when a nested transaction comes first, then BEGIN travels with its SAVEPOINT and the inner rollback keeps the outer work', async () => {
    recordRoundTrips();
    await db.transaction(async (tx) => {
      await expect(
        tx.transaction(async (inner) => {
          await inner.query('INSERT INTO begin_t VALUES ($1)', [20]);
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await tx.query('INSERT INTO begin_t VALUES ($1)', [21]);
    });
    expect(sent[0]).toMatch(/^BEGIN;\s*SAVEPOINT sp1$/);
    const r = await db.query<{ a: number }>('SELECT a FROM begin_t WHERE a IN (20, 21) ORDER BY a');
    expect(r.rows).toEqual([{ a: 21 }]);
  });

  it('when a lock key holds quotes and backslashes, then it is locked as the same key a parameter would give', async () => {
    const key = String.raw`Patient?identifier=a\'b|"c"\\`;
    const held = await db.transaction(async (tx) => {
      await lockQueries(tx, [key]);
      return tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
           AND objid = (hashtext($1)::bigint & 4294967295)::oid`,
        [key],
      );
    });
    expect(held.rows[0]?.n).toBe(1);
  });
});
