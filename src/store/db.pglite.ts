import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import type { ClosableDb, Db, QueryResult } from './db.port';

// Same conventions as the pg adapter: int8 as number.
const parsers = { [types.INT8]: (v: string) => Number(v) };

class PgliteTx implements Db {
  readonly kind = 'pglite' as const;
  private savepoint = 0;
  constructor(private readonly tx: Transaction) {}
  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const r = await this.tx.query<R>(sql, params as unknown[], { parsers });
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoint}`;
    await this.tx.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.tx.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/**
 * Embedded PostgreSQL (PGlite, WASM) in `dataDir`, or in memory when `dataDir` is undefined.
 * PGlite has one connection: it queues statements and transactions itself, so concurrent callers are safe.
 */
export async function openPglite(dataDir?: string): Promise<ClosableDb> {
  const pg = dataDir ? new PGlite(dataDir) : new PGlite();
  await pg.waitReady;
  return {
    kind: 'pglite',
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await pg.query<R>(sql, params as unknown[], { parsers });
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => fn(new PgliteTx(tx)));
    },
    async listen(channel: string, onNotify: () => void) {
      const unsubscribe = await pg.listen(channel, () => onNotify());
      return async () => {
        await unsubscribe();
      };
    },
    async close() {
      await pg.close();
    },
  };
}
