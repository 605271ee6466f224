import pg from 'pg';
import type { ClosableDb, Db, QueryResult } from './db.port';

// Parse int8 (bigserial ids, counts) as JS numbers: our counters stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

class PgTx implements Db {
  readonly kind = 'postgres' as const;
  private savepoint = 0;
  constructor(private readonly client: pg.PoolClient) {}
  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const r = await this.client.query(sql, params as unknown[]);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoint}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/** A pooled PostgreSQL connection (`DATABASE_URL`). */
export function openPostgres(url: string, opts: { max?: number } = {}): ClosableDb {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20 });
  pool.on('error', () => {
    /* an idle client's lost connection: the pool drops it; the next query opens a new one */
  });
  // Every client keeps a listener for its whole life: a lost connection (57P01 on a PostgreSQL restart) is
  // emitted as an 'error' event whenever no query is running, and pg-pool listens only while a client is idle or
  // inside pool.query. The error reaches the caller through its next query; the pool drops the broken client.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return {
    kind: 'postgres',
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await pool.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A checked-out client has no pool listener: without this one, a connection lost mid-transaction
      // (57P01 when PostgreSQL restarts or fails over) is an unhandled 'error' event that ends the process.
      // The transaction fails instead (its next statement rejects) and the broken client is discarded.
      let lost: Error | undefined;
      const onError = (err: Error) => (lost ??= err);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const out = await fn(new PgTx(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        if (!lost) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
    },
    listen: (channel, onNotify) => listenPostgres(url, channel, onNotify),
    async close() {
      await pool.end();
    },
  };
}

/**
 * A dedicated connection (not from the pool: LISTEN belongs to a session) that LISTENs on `channel`, reconnecting
 * after a lost connection (1 s later, again and again) until stopped.
 */
async function listenPostgres(url: string, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (m) => {
      if (m.channel === channel) onNotify();
    });
    c.on('error', () => {
      if (client === c) client = undefined;
      c.end().catch(() => undefined);
      schedule();
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    if (stopped) {
      await c.end();
      return;
    }
    client = c;
    onNotify(); // whatever was notified while not listening
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(schedule);
    }, 1000);
    retry.unref();
  };
  await connect().catch(schedule);
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
