import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ClosableDb } from '../../src/store/db.port';
import { openPostgres } from '../../src/store/db.pg';
import { lockQueries } from '../../src/store/write-sql';
import { lockStays } from '../../src/intake/stay/stay-rows.pg';
import { recordMessages } from '../support/record-messages';
import { openTestDb } from '../support/db';

// A transaction's BEGIN and its locks go out with the statement after them (PgTx, ADR 041 and 042): in one message of
// the simple protocol before a statement without parameters, of the extended protocol (one Sync) before one with.

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

  it('when a transaction opens with the criteria lock and a stay lock follows, then each lock travels with the statement after it', async () => {
    recordMessages(sent);
    await db.transaction(async (tx) => {
      await lockQueries(tx, ["Patient?identifier=x|it's"]);
      await tx.query('SELECT count(*) FROM begin_t WHERE a = $1', [0]);
      await lockStays(tx, ['enc-1', 'visit:a|b']);
      await tx.query('INSERT INTO begin_t VALUES ($1)', [1]);
    });
    expect(sent).toHaveLength(3);
    expect(sent[0]).toMatch(
      /^BEGIN;\nSELECT count\(pg_advisory_xact_lock.*;\nSELECT count\(\*\) FROM begin_t WHERE a = \$1$/s,
    );
    expect(sent[1]).toMatch(
      /^SELECT count\(pg_advisory_xact_lock.*'stay:enc-1'.*;\nINSERT INTO begin_t VALUES \(\$1\)$/s,
    );
    expect(sent[2]).toBe('COMMIT');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM begin_t')).rows[0]?.n).toBe(1);
  });

  it('when the first statement has parameters, then BEGIN travels with it', async () => {
    recordMessages(sent);
    await db.transaction((tx) => tx.query('INSERT INTO begin_t VALUES ($1)', [2]));
    expect(sent).toEqual(['BEGIN;\nINSERT INTO begin_t VALUES ($1)', 'COMMIT']);
  });

  it('when a lock has nothing after it, then it goes with COMMIT', async () => {
    recordMessages(sent);
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO begin_t VALUES ($1)', [3]);
      await lockStays(tx, ['enc-3']);
    });
    expect(sent[sent.length - 1]).toMatch(/^SELECT count\(pg_advisory_xact_lock.*;\nCOMMIT$/s);
  });

  it('when the statement after a lock waited for it, then it sees what the lock’s previous holder committed', async () => {
    const name = (await db.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d ?? '';
    const u = new URL(process.env.DATABASE_URL ?? '');
    u.pathname = `/${name}`;
    const other = openPostgres(u.toString(), { max: 1 });
    await db.query('CREATE TABLE IF NOT EXISTS lock_seen (k text, v int)');
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const first = db.transaction(async (tx) => {
      await lockStays(tx, ['race']);
      await tx.query('INSERT INTO lock_seen VALUES ($1, $2)', ['race', 1]);
      locked();
      await holding;
    });
    await isLocked;
    const second = other.transaction(async (tx) => {
      await lockStays(tx, ['race']);
      return tx.query<{ n: number }>('SELECT count(*)::int AS n FROM lock_seen WHERE k = $1', ['race']);
    });
    await new Promise((r) => setTimeout(r, 200)); // the second waits on the lock, its read not yet run
    release();
    await first;
    expect((await second).rows[0]?.n).toBe(1);
    await other.close();
  });

  it('when a named statement is not yet prepared on the connection, then the locks go ahead on their own once, and with it afterwards', async () => {
    const sql = 'SELECT count(*)::int AS n FROM begin_t WHERE a = $1 AND a = $1 -- named after three runs';
    recordMessages(sent);
    for (let i = 0; i < 5; i++)
      await db.transaction(async (tx) => {
        await lockStays(tx, ['named']);
        await tx.query(sql, [i]);
      });
    const messages = sent.filter((m) => m !== 'COMMIT');
    expect(messages.filter((m) => m !== sql && m.endsWith(sql))).toHaveLength(4); // with its leads: runs 1, 2 (unnamed), 4, 5
    expect(messages.filter((m) => m === sql)).toHaveLength(1); // run 3: prepared with this name, leads ahead
    expect(messages.filter((m) => /pg_advisory_xact_lock[^;]*\)\s*s$/.test(m) && m.startsWith('BEGIN'))).toHaveLength(
      1,
    );
  });

  it('when a lock fails, then the statement after it fails with its error and the connection serves the next transaction', async () => {
    await expect(
      db.transaction(async (tx) => {
        tx.sendWithNext?.('SELECT 1/0');
        await tx.query('INSERT INTO begin_t VALUES ($1)', [30]);
      }),
    ).rejects.toThrow(/division by zero/);
    const r = await db.transaction((tx) =>
      tx.query<{ n: number }>('SELECT count(*)::int AS n FROM begin_t WHERE a = $1', [30]),
    );
    expect(r.rows[0]?.n).toBe(0);
  });

  it('when a savepoint is rolled back, then a lock held inside it is not sent', async () => {
    recordMessages(sent);
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO begin_t VALUES ($1)', [40]);
      await expect(
        tx.transaction(async (inner) => {
          await lockStays(inner, ['inside']);
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await tx.query('INSERT INTO begin_t VALUES ($1)', [41]);
    });
    expect(sent.some((m) => m.includes("'stay:inside'"))).toBe(false);
    const r = await db.query<{ a: number }>('SELECT a FROM begin_t WHERE a IN (40, 41) ORDER BY a');
    expect(r.rows).toEqual([{ a: 40 }, { a: 41 }]);
  });

  it('when a transaction sends nothing, then neither BEGIN nor COMMIT is sent', async () => {
    recordMessages(sent);
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
    recordMessages(sent);
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
