import pg from 'pg';
import { isStalePlan, type ClosableDb, type Db, type QueryResult } from './db.port';

// Parse int8 (bigserial ids, counts) as JS numbers: our counters stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** How many distinct statements a process names at most: each connection keeps a plan per name it ran. */
const MAX_NAMED = 256;
/** How often a text must have run before it is named: one-off texts (built per request) stay unnamed. */
const NAME_AFTER = 3;

/**
 * Names the parameterised statements a process runs often, so each pooled connection parses them once. Intake's
 * and the store's statements are long CTEs: parsing and analysing them again for every admission was about half of
 * PostgreSQL's CPU per admission (ADR 032). PostgreSQL may then reuse a generic plan (the resource write statement
 * is made to suit any batch size, ADR 038). Statements without parameters keep the simple protocol (they may hold
 * several commands).
 */
export class StatementNames {
  private readonly seen = new Map<string, number>();
  private readonly names = new Map<string, string>();
  constructor(private readonly enabled: boolean) {}

  config(sql: string, params: readonly unknown[]): pg.QueryConfig {
    const values = params as unknown[];
    if (!this.enabled || params.length === 0) return { text: sql, values };
    let name = this.names.get(sql);
    if (name === undefined) {
      const n = (this.seen.get(sql) ?? 0) + 1;
      if (n < NAME_AFTER || this.names.size >= MAX_NAMED) {
        if (this.seen.size >= 4096) this.seen.clear(); // one-off texts must not pile up
        this.seen.set(sql, n);
        return { text: sql, values };
      }
      this.seen.delete(sql);
      name = `svu_${this.names.size}`;
      this.names.set(sql, name);
    }
    return { name, text: sql, values };
  }

  /**
   * After a schema change (a migration run by a newer process during a rolling upgrade) PostgreSQL refuses a
   * prepared statement whose result columns changed ("cached plan must not change result type", 0A000). The text
   * then gets a new name, which every connection prepares afresh; true when the caller may run it again (outside
   * a transaction: inside one, the error has aborted it and the caller's next attempt uses the new name).
   */
  stale(config: pg.QueryConfig, err: unknown): boolean {
    if (!config.name || !isStalePlan(err)) return false;
    this.names.set(config.text, `${config.name}_${this.names.size}`);
    return true;
  }

  /** How many texts are named (tests). */
  get size(): number {
    return this.names.size;
  }
}

/**
 * One checked-out connection: inside a transaction (`outside` false: nested transactions are savepoints), or a
 * session outside one (`outside` true: each statement commits on its own, a stale named statement is retried as on
 * the pool, and `transaction` begins one).
 *
 * A transaction's BEGIN is sent with its first statement when that statement has no parameters (the simple
 * protocol takes several commands in one message): the lock statements that open most write transactions
 * (`lockQueries`, `lockStays`) are written that way, so BEGIN costs no round trip of its own. A statement with
 * parameters is sent after a BEGIN of its own, as before; a transaction that sends nothing sends no BEGIN.
 */
class PgTx implements Db {
  readonly kind = 'postgres' as const;
  private savepoint = 0;
  constructor(
    private readonly client: pg.PoolClient,
    private readonly names: StatementNames,
    private readonly outside = false,
    /** BEGIN not sent yet (a transaction begun by `transaction`, before its first statement). */
    private beginPending = false,
  ) {}

  /** Whether BEGIN went out (so COMMIT or ROLLBACK must follow). */
  get begun(): boolean {
    return !this.beginPending;
  }

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    if (this.beginPending) {
      this.beginPending = false;
      if (params.length === 0) {
        const results = (await this.client.query(`BEGIN;\n${sql}`)) as unknown as pg.QueryResult | pg.QueryResult[];
        const r = Array.isArray(results) ? results[results.length - 1] : results;
        return { rows: (r?.rows ?? []) as R[], rowCount: r?.rowCount ?? 0 };
      }
      await this.client.query('BEGIN');
    }
    const config = this.names.config(sql, params);
    const r = await this.client.query(config).catch((err: unknown) => {
      if (this.names.stale(config, err) && this.outside) return this.client.query(this.names.config(sql, params));
      throw err;
    });
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.outside) {
      const tx = new PgTx(this.client, this.names, false, true);
      try {
        const out = await fn(tx);
        if (tx.begun) await this.client.query('COMMIT');
        return out;
      } catch (err) {
        if (tx.begun) await this.client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    const name = `sp${++this.savepoint}`;
    await this.query(`SAVEPOINT ${name}`); // with BEGIN when nothing was sent yet
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
export function openPostgres(url: string, opts: { max?: number; preparedStatements?: boolean } = {}): ClosableDb {
  const names = new StatementNames(opts.preparedStatements ?? true);
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
  async function session<T>(fn: (conn: Db) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A checked-out client has no pool listener: without this one, a connection lost mid-session or
    // mid-transaction (57P01 when PostgreSQL restarts or fails over) is an unhandled 'error' event that ends the
    // process. The work fails instead (its next statement rejects) and the broken client is discarded.
    let lost: Error | undefined;
    const onError = (err: Error) => (lost ??= err);
    client.on('error', onError);
    try {
      return await fn(new PgTx(client, names, true));
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }
  return {
    kind: 'postgres',
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const config = names.config(sql, params);
      const r = await pool.query(config).catch((err: unknown) => {
        if (names.stale(config, err)) return pool.query(names.config(sql, params));
        throw err;
      });
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      return session((conn) => conn.transaction(fn));
    },
    session,
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
