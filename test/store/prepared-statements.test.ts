import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatementNames } from '../../src/store/db.pg';
import { type ClosableDb } from '../../src/store/db.port';
import { writeVersions, type VersionWrite } from '../../src/store/write-sql';
import { openTestDb } from '../support/db';

// ADR 032: parameterised statements run often are named, so each connection parses and plans them once.

describe('StatementNames', () => {
  it('when a parameterised text has run twice, then its third run is named, and the same text keeps that name', () => {
    const names = new StatementNames(true);
    const sql = 'SELECT $1::int AS n';
    expect(names.config(sql, [1]).name).toBeUndefined();
    expect(names.config(sql, [1]).name).toBeUndefined();
    const third = names.config(sql, [2]);
    expect(third.name).toBeDefined();
    expect(third.values).toEqual([2]);
    expect(names.config(sql, [3]).name).toBe(third.name);
    expect(names.config('SELECT $1::int AS m', [1]).name).toBeUndefined();
  });

  it('when long texts differ only in the middle, then each keeps a name of its own (found without hashing them whole)', () => {
    const names = new StatementNames(true);
    const head = `SELECT ${'a, '.repeat(100)}`;
    const tail = ` FROM t ${'WHERE true AND '.repeat(20)} x = $1`;
    const texts = ['$1', '$2', 'b1', 'b2'].map((mid) => `${head}${mid}${tail}`);
    for (const t of texts) for (let k = 0; k < 3; k++) names.config(t, [k]);
    const named = texts.map((t) => names.config(t, [0]).name);
    expect(new Set(named).size).toBe(4);
    // The same text built again (a new string) finds its name.
    expect(names.config(`${head}${'$' + String(2)}${tail}`, [0]).name).toBe(named[1]);
    expect(names.size).toBe(4);
  });

  it('when a text has no parameters or naming is off, then it is never named', () => {
    const on = new StatementNames(true);
    const off = new StatementNames(false);
    for (let i = 0; i < 5; i++) {
      expect(on.config('SELECT 1', []).name).toBeUndefined();
      expect(off.config('SELECT $1::int', [i]).name).toBeUndefined();
    }
    expect(on.size + off.size).toBe(0);
  });

  it('when 256 texts are named, then further texts run unnamed', () => {
    const names = new StatementNames(true);
    for (let i = 0; i < 300; i++) for (let k = 0; k < 3; k++) names.config(`SELECT $1::int + ${i}`, [k]);
    expect(names.size).toBe(256);
    expect(names.config('SELECT $1::int + 299', [0]).name).toBeUndefined();
    expect(names.config('SELECT $1::int + 0', [0]).name).toBeDefined();
  });

  it('when PostgreSQL refuses a named statement as a stale plan, then the text gets a new name; other errors and unnamed texts keep theirs', () => {
    const names = new StatementNames(true);
    const sql = 'SELECT * FROM t WHERE a = $1';
    for (let i = 0; i < 3; i++) names.config(sql, [i]);
    const before = names.config(sql, [1]);
    expect(names.stale(before, { code: '23505' })).toBe(false);
    expect(names.config(sql, [1]).name).toBe(before.name);
    const stalePlan = { code: '0A000', routine: 'RevalidateCachedQuery' };
    expect(names.stale({ text: 'SELECT $1', values: [1] }, stalePlan)).toBe(false);
    expect(names.stale(before, { code: '0A000', routine: 'somethingElse' })).toBe(false);
    expect(names.stale(before, stalePlan)).toBe(true);
    const after = names.config(sql, [1]).name;
    expect(after).toBeDefined();
    expect(after).not.toBe(before.name);
  });
});

const run = process.env.DATABASE_URL ? describe : describe.skip;

run('named statements on PostgreSQL', () => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb('postgres', { max: 2 });
    await db.query('CREATE TABLE prep_t (a int, b text)');
    await db.query(`INSERT INTO prep_t SELECT i, 'v' || i FROM generate_series(1, 20) i`);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('when the same statement runs many times on the pool and in transactions, then every run answers for its own parameters', async () => {
    for (let i = 1; i <= 20; i++) {
      const r = await db.query<{ b: string }>('SELECT b FROM prep_t WHERE a = $1', [i]);
      expect(r.rows).toEqual([{ b: `v${i}` }]);
      const t = await db.transaction((tx) =>
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM prep_t WHERE a <= $1', [i]),
      );
      expect(t.rows[0]?.n).toBe(i);
    }
    // The connection that ran it holds it as a prepared statement of its own.
    const held = await db.transaction(async (tx) => {
      for (let i = 0; i < 4; i++) await tx.query('SELECT b FROM prep_t WHERE a = $1 AND b IS NOT NULL', [i]);
      return tx.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'svu_%'`);
    });
    expect(held.rows.map((r) => r.statement)).toContain('SELECT b FROM prep_t WHERE a = $1 AND b IS NOT NULL');
  });

  it('when a named statement fails inside a transaction, then the transaction rolls back and the statement still runs afterwards', async () => {
    const sql = 'INSERT INTO prep_t (a, b) VALUES ($1::int, $2)';
    for (let i = 0; i < 3; i++) await db.query(sql, [100 + i, 'x']);
    const failed = db.transaction(async (tx) => {
      await tx.query(sql, [200, 'kept?']);
      await tx.query(sql, ['not a number', 'y']);
    });
    await expect(failed).rejects.toThrow();
    expect((await db.query('SELECT 1 FROM prep_t WHERE a = $1', [200])).rowCount).toBe(0);
    await db.query(sql, [201, 'z']);
    expect((await db.query('SELECT 1 FROM prep_t WHERE a = $1', [201])).rowCount).toBe(1);
  });

  it('when a column is added under a named SELECT * (a rolling upgrade), then the pool answers with the new columns and a transaction fails at most once', async () => {
    const sql = 'SELECT * FROM prep_t WHERE a = $1';
    // Both connections of the pool prepare it: two in flight at once, several times.
    for (let i = 0; i < 4; i++) await Promise.all([db.query(sql, [1]), db.query(sql, [2])]);
    await db.query('ALTER TABLE prep_t ADD COLUMN c int DEFAULT 7');
    const onPool = await db.query<{ c: number }>(sql, [1]);
    expect(onPool.rows[0]?.c).toBe(7);
    const attempts: boolean[] = [];
    for (let i = 0; i < 2; i++) {
      const ok = await db
        .transaction((tx) => tx.query<{ c: number }>(sql, [2]))
        .then((r) => r.rows[0]?.c === 7)
        .catch(() => false);
      attempts.push(ok);
    }
    expect(attempts[1]).toBe(true);
    await Promise.all([db.query(sql, [1]), db.query(sql, [2])]).then((rs) =>
      rs.forEach((r) => expect(Object.keys(r.rows[0] ?? {})).toEqual(['a', 'b', 'c'])),
    );
  });

  it('when the resource write statement runs for single versions and then for a batch of updates and creates, then one plan serves the batch and its index rows are exact (ADR 038)', async () => {
    const write = (id: string, status: Task['status'], version = 1, note?: string): VersionWrite => {
      const resource: Task = {
        resourceType: 'Task',
        id,
        status,
        intent: 'order',
        ...(note ? { description: note } : {}),
      };
      return {
        type: 'Task',
        id,
        prevVersion: version - 1,
        version,
        lastUpdated: new Date().toISOString(),
        resource,
        method: version === 1 ? 'POST' : 'PUT',
        action: version === 1 ? 'create' : 'update',
        opts: { silent: true },
      };
    };
    const plans = await db.transaction(async (tx) => {
      for (let i = 0; i < 12; i++) await writeVersions(tx, [write(`one-${i}`, 'requested')]);
      // 6 updates change an indexed value, 6 change only the text, 48 are new
      await writeVersions(tx, [
        ...Array.from({ length: 6 }, (_, i) => write(`one-${i}`, 'accepted', 2)),
        ...Array.from({ length: 6 }, (_, i) => write(`one-${i + 6}`, 'requested', 2, 'changed')),
        ...Array.from({ length: 48 }, (_, i) => write(`batch-${i}`, 'requested')),
      ]);
      return tx.query<{ generic_plans: string; custom_plans: string }>(
        `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE 'WITH input AS%'`,
      );
    });
    // named from its 3rd run (ADR 032): 11 named runs. PostgreSQL makes custom plans for the first 5 of them, then
    // keeps the generic one as long as it costs no more: the other 6, the batch of 60 included
    expect(plans.rows).toHaveLength(1);
    expect(Number(plans.rows[0]?.custom_plans)).toBe(5);
    expect(Number(plans.rows[0]?.generic_plans)).toBe(6);
    const status = await db.query<{ value: string; n: number }>(
      `SELECT value, count(DISTINCT resource_id)::int AS n FROM fhir_search WHERE resource_type = 'Task' AND param = 'status' GROUP BY 1 ORDER BY 1`,
    );
    expect(status.rows).toEqual([
      { value: 'accepted', n: 6 },
      { value: 'requested', n: 54 },
    ]);
    const rows = await db.query<{ rid: string; n: number; distinct_rows: number }>(
      `SELECT resource_id AS rid, count(*)::int AS n, count(DISTINCT (param, system, value, lo, hi))::int AS distinct_rows
         FROM fhir_search WHERE resource_type = 'Task' GROUP BY 1`,
    );
    const fresh = rows.rows.find((r) => r.rid === 'batch-0')?.n;
    expect(fresh).toBeGreaterThan(1);
    for (const r of rows.rows) expect([r.rid, r.n, r.distinct_rows]).toEqual([r.rid, fresh, fresh]);
  });
});
