import { createRequire } from 'node:module';
import pg from 'pg';
import { isStalePlan, type ClosableDb, type Db, type QueryResult } from './db.port';
import { TextMap } from './text-map';

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
  // Keyed without hashing each text in full (src/store/text-map.ts): the texts are built anew for every call.
  private readonly seen = new TextMap<number>();
  private readonly names = new TextMap<string>();
  /** Names are never reused, even for a text the maps forgot (`TextMap` forgets the oldest of many alike texts). */
  private named = 0;
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
      name = `svu_${this.named++}`;
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
    this.names.set(config.text, `${config.name}_${this.named++}`);
    return true;
  }

  /** How many texts are named (tests). */
  get size(): number {
    return this.names.size;
  }
}

/** What `AfterLeads` uses of pg's connection (pg/lib/connection.js). */
interface PgConnection {
  parse(m: { text: string; name: string; types: unknown[] }): void;
  bind(m: { portal: string; statement: string; values: unknown[]; valueMapper?: (v: unknown) => unknown }): void;
  describe(m: { type: 'P'; name: string }): void;
  execute(m: { portal: string; rows: number }): void;
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
}

/** pg's conversion of a parameter to its text form (what `Query` binds with). */
const prepareValue = (createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown })
  .prepareValue;

type Callback = (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void;
/** pg's Query (pg/lib/query.js) with the two methods `AfterLeads` overrides. */
const PgQuery = pg.Query as unknown as new (
  config: pg.QueryConfig & { callback: Callback },
) => pg.Submittable & { requiresPreparation(): boolean; prepare(connection: PgConnection): void };

/**
 * A statement held for the next one: without parameters (BEGIN, a lock), or with them (a write whose result nobody
 * reads, `holdUntilNext`: unnamed, or named and already prepared on the connection). `mapError` turns the error it
 * may raise into the caller's.
 */
interface Held {
  config: pg.QueryConfig;
  mapError?: (err: unknown) => unknown;
}

/**
 * A statement sent with the held statements before it, all in one message of the extended protocol with one Sync:
 * one round trip. Each runs as its own portal with its own snapshot, in order; an error in one skips the rest (up
 * to the Sync) and is this query's error. The result is an array, the statement's own last.
 */
class AfterLeads extends PgQuery {
  constructor(
    readonly leads: readonly Held[],
    config: pg.QueryConfig,
    callback: Callback,
  ) {
    super({ ...config, callback });
  }
  override requiresPreparation(): boolean {
    return true;
  }
  override prepare(connection: PgConnection): void {
    for (const { config } of this.leads) {
      const name = config.name ?? '';
      if (!name) connection.parse({ text: config.text, name: '', types: [] });
      connection.bind({ portal: '', statement: name, values: config.values ?? [], valueMapper: prepareValue });
      connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '', rows: 0 });
    }
    super.prepare(connection);
  }
}

/** The last result of a message that ran several statements. */
function lastOf(results: pg.QueryResult | pg.QueryResult[]): pg.QueryResult | undefined {
  return Array.isArray(results) ? results[results.length - 1] : results;
}

function lastResult<R>(results: pg.QueryResult | pg.QueryResult[]): QueryResult<R> {
  const r = lastOf(results);
  return { rows: (r?.rows ?? []) as R[], rowCount: r?.rowCount ?? 0 };
}

/**
 * One checked-out connection: inside a transaction (`outside` false: nested transactions are savepoints), or a
 * session outside one (`outside` true: each statement commits on its own, a stale named statement is retried as on
 * the pool, and `transaction` begins one).
 *
 * Statements whose rows nobody reads travel with the next statement, in its round trip (ADR 041–043): a
 * transaction's BEGIN, the locks `sendWithNext` holds (`lockQueries`, `lockStays`) and the writes `holdUntilNext`
 * holds (`writeVersions`). Without parameters among them and before a statement without parameters they go in one
 * message of the simple protocol; otherwise in one message of the extended protocol with a single Sync
 * (`AfterLeads`), unless the next statement is named and not yet prepared on this connection (pg would record it as
 * prepared when the first of them is parsed): then they go ahead on their own. With nothing after them they go with
 * COMMIT. A transaction that sends nothing sends no BEGIN. A held write's own check is a statement error (ADR 043),
 * so PostgreSQL aborts the transaction whichever caller sees it; a COMMIT answered with ROLLBACK is an error.
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

  /** Statements held for the next one. */
  private leads: Held[] = [];
  sendWithNext(sql: string): void {
    this.leads.push({ config: { text: sql } });
  }

  async holdUntilNext(sql: string, params: readonly unknown[], mapError: (err: unknown) => unknown): Promise<void> {
    const config = this.names.config(sql, params);
    if (this.outside || (config.name && !this.prepared(config.name))) {
      await this.run(config, sql, params).catch((err: unknown) => {
        throw mapError(err);
      });
      return;
    }
    this.leads.push({ config, mapError });
  }

  private prepared(name: string): boolean {
    const connection = (this.client as unknown as { connection: PgConnection }).connection;
    return connection.parsedStatements[name] !== undefined || connection.submittedNamedStatements[name] !== undefined;
  }

  /** BEGIN (when not sent yet) and the held statements, now owed to the server; none are held afterwards. */
  private takeLeads(): Held[] {
    const out = this.beginPending ? [{ config: { text: 'BEGIN' } }, ...this.leads] : this.leads;
    this.beginPending = false;
    this.leads = [];
    return out;
  }

  /** Runs `main` after `leads` in one message; an error comes back as its statement's caller's (`mapError`). */
  private async withLeads(leads: Held[], main: Held): Promise<pg.QueryResult | pg.QueryResult[]> {
    const { config } = main;
    const withParams = leads.some((l) => (l.config.values?.length ?? 0) > 0);
    try {
      if (!withParams && !config.values?.length && !config.name)
        // (a message of several statements answers with an array of results)
        return await this.client.query([...leads.map((l) => l.config.text), config.text].join(';\n'));
      return await new Promise<pg.QueryResult | pg.QueryResult[]>((resolve, reject) => {
        void this.client.query(
          new AfterLeads(leads, config, (err, res) => (err ? reject(err) : resolve(res))) as unknown as pg.QueryConfig,
        );
      });
    } catch (err) {
      for (const l of [...leads, main]) this.names.stale(l.config, err);
      let out: unknown = err;
      for (const l of [...leads, main]) if (out === err && l.mapError) out = l.mapError(err);
      throw out;
    }
  }

  /** Ends the transaction begun by `transaction`: COMMIT with whatever is still held, or ROLLBACK. */
  async end(how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    if (how === 'ROLLBACK') {
      this.leads = [];
      if (!this.beginPending) await this.client.query('ROLLBACK');
      return;
    }
    if (this.beginPending && this.leads.length === 0) return; // nothing was sent: nothing to end
    const r = lastOf(await this.withLeads(this.takeLeads(), { config: { text: 'COMMIT' } }));
    // COMMIT of a transaction PostgreSQL aborted (an error a caller swallowed) answers ROLLBACK, without an error:
    // never report that as stored
    if (r?.command === 'ROLLBACK') throw new Error('PostgreSQL rolled the transaction back at COMMIT');
  }

  query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return this.run<R>(this.names.config(sql, params), sql, params);
  }

  /** Runs `sql` as `config` (its name decided once per run), after whatever is held. */
  private async run<R>(config: pg.QueryConfig, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> {
    const leads = this.takeLeads();
    if (leads.length > 0) {
      if (!config.name || this.prepared(config.name)) {
        const results = await this.withLeads(leads, { config }).catch((err: unknown) => {
          // the leads ran (or failed) in the message, which renamed a stale statement: a retry outside a transaction
          // sends the statement alone
          if (this.outside && config.name && isStalePlan(err)) return this.client.query(this.names.config(sql, params));
          throw err;
        });
        return lastResult<R>(results);
      }
      const last = leads.pop();
      if (last) await this.withLeads(leads, last);
    }
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
        await tx.end('COMMIT');
        return out;
      } catch (err) {
        await tx.end('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    const name = `sp${++this.savepoint}`;
    await this.query(`SAVEPOINT ${name}`); // with BEGIN when nothing was sent yet
    try {
      const out = await fn(this);
      await this.query(`RELEASE SAVEPOINT ${name}`); // with what was held inside: its errors roll back to it
      return out;
    } catch (err) {
      this.leads = []; // held inside the savepoint (SAVEPOINT sent the earlier ones)
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/**
 * pg's pool options, with `onConnect` as pg-pool has it: a promise it returns is awaited before the new connection
 * is handed out, and its failure fails that checkout and drops the connection (@types/pg types it `void`).
 */
type PoolConfig = Omit<pg.PoolConfig, 'onConnect'> & { onConnect?: (client: pg.ClientBase) => Promise<unknown> };

/**
 * A pooled PostgreSQL connection (`DATABASE_URL`). Unless `jit` (`PG_JIT`), each connection runs `SET jit = off` when
 * it opens, before its first statement: on a store without statistics (a young one) the planner's guesses put even
 * a search that reads nothing above `jit_above_cost`, and compiling it took 14–250 ms where the search ran in under
 * 10 ms, while the follow-up's year-long reads gained nothing measurable from JIT (docs/performance.md, "JIT off").
 */
export function openPostgres(
  url: string,
  opts: { max?: number; preparedStatements?: boolean; jit?: boolean } = {},
): ClosableDb {
  const names = new StatementNames(opts.preparedStatements ?? true);
  const config: PoolConfig = { connectionString: url, max: opts.max ?? 20 };
  if (!opts.jit) config.onConnect = (client) => client.query('SET jit = off');
  const pool = new pg.Pool(config);
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
