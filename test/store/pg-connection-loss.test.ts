import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/db.pg';
import type { ClosableDb } from '../../src/store/db.port';
import { isConnectionError } from '../../src/platform/dependency-watch';
import { canRunOwnPostgres, startOwnPostgres, type OwnPostgres } from '../support/own-postgres';

// Issue 12 item 5: a PostgreSQL restart sends 57P01 to every open connection. A connection checked out for a
// transaction had no 'error' listener, so the restart ended the process (an unhandled 'error' event).
// On a PostgreSQL server of its own: restarting the shared test server would break other tests' runs.

const run = canRunOwnPostgres() ? describe : describe.skip;

run('a PostgreSQL restart under open connections', () => {
  let pg: OwnPostgres;
  let db: ClosableDb;
  beforeAll(async () => {
    pg = await startOwnPostgres();
    db = openPostgres(pg.url, { max: 4 });
    await db.query('CREATE TABLE t (n int)');
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await pg?.remove();
  });

  it('when PostgreSQL restarts in the middle of a transaction, then that transaction fails with a connection error, nothing of it is stored, and the next one succeeds', async () => {
    const lost = db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
      pg.restart(); // the connection is checked out and idle in the transaction: it gets 57P01 now
      await new Promise((r) => setTimeout(r, 200));
      await tx.query('INSERT INTO t VALUES (2)');
    });
    const err = await lost.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(isConnectionError(err)).toBe(true);
    // idle pooled connections were cut as well: the pool replaces them
    await db.transaction((tx) => tx.query('INSERT INTO t VALUES (3)'));
    const { rows } = await db.query<{ n: number }>('SELECT n FROM t ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([3]);
  }, 60_000);
});
