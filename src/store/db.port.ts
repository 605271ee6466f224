/**
 * The database port. Every adapter (PGlite embedded, PostgreSQL via `pg`) speaks the same SQL
 * (PostgreSQL dialect, `$1` placeholders). Code that must commit several writes together takes a `Db`
 * and is called inside `db.transaction(tx => ...)`: the `tx` it receives is itself a `Db`, so the same
 * functions run inside or outside a transaction (Unleash's "re-bind the service graph to a transaction").
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Db {
  /** Runs one statement. Parameters are positional (`$1`, `$2`, ...). */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws (the error is rethrown).
   * Nested calls on a transaction handle run in a SAVEPOINT.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on one connection outside a transaction (each statement commits on its own): a pooled connection is
   * waited for once, not per statement (the relay's matcher while the API holds the pool). Root handles on
   * PostgreSQL only; elsewhere call `fn(db)` (`inSession`).
   */
  session?<T>(fn: (conn: Db) => Promise<T>): Promise<T>;
  /**
   * Holds `sql` (a statement without parameters whose rows are not needed: a lock) and sends it in the same round
   * trip as this transaction's next statement, before it. Each statement takes its own snapshot, so the next one sees
   * what the lock's previous holder committed; an error of `sql` is the error of that next statement. With nothing
   * after it, it goes with COMMIT. Transaction handles on PostgreSQL only: elsewhere call `sendBeforeNext`.
   */
  sendWithNext?(sql: string): void;
  /**
   * Holds a statement whose rows nobody reads (a write that checks itself, raising an error when it cannot do what
   * it must: ADR 043) and sends it with this transaction's next statement, before it, or with COMMIT; it is run at
   * once where it cannot travel (outside a transaction, or named and not yet prepared on the connection). Its error
   * surfaces at the statement it travelled with, turned by `mapError` into the caller's. Transaction handles on
   * PostgreSQL only: elsewhere call `runOrHold`.
   */
  holdUntilNext?(sql: string, params: readonly unknown[], mapError: (err: unknown) => unknown): Promise<void>;
  /** Which engine is behind this handle, for the few places that must know (benchmarks, diagnostics). */
  readonly kind: 'pglite' | 'postgres';
  /**
   * Calls `onNotify` for every `NOTIFY` on `channel` (delivered when the notifying transaction commits, from any
   * process). Resolves to a function that stops listening. Only on root handles; callers still poll as a fallback
   * (a notification can be missed while the listening connection reconnects).
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

/** `db.session(fn)` where there is one, else `fn(db)`. */
export function inSession<T>(db: Db, fn: (conn: Db) => Promise<T>): Promise<T> {
  return db.session ? db.session(fn) : fn(db);
}

/** `tx.sendWithNext(sql)` where the handle has it, else runs `sql` now (PGlite: no round trip to save). */
export async function sendBeforeNext(tx: Db, sql: string): Promise<void> {
  if (tx.sendWithNext) tx.sendWithNext(sql);
  else await tx.query(sql);
}

/**
 * Planner settings for a statement that reads every table by a key whose plan does not depend on the values: its
 * generic plan, made once per connection, and no sequential scans. Both are needed: left to choose, PostgreSQL
 * planned such statements again on most calls on a growing store, and a generic plan made while the tables were
 * small scanned them whole (the facts statement read 8 672 facts for one stay), for as long as no ANALYZE replaced
 * it. Without sequential scans the plan is the indexes' at any size (docs/performance.md, "The admission's match
 * planned on every call"). Not for statements whose join order the statistics decide: the admission's match made
 * this way ran 4.2 ms a call in one bench run (ADR 058).
 */
export const KEYED_LOOKUP_PLAN: Readonly<Record<string, string>> = {
  plan_cache_mode: 'force_generic_plan',
  enable_seqscan: 'off',
};

/**
 * Runs `statement` (one statement on `tx`) with planner settings for it alone on a PostgreSQL transaction handle:
 * `SET LOCAL <name> = <value>` travels in the statement's own message and `SET LOCAL <name> = DEFAULT` with the next
 * statement, so no round trip is added and the statements before and after it plan as before. Elsewhere (PGlite,
 * which plans every statement afresh; a handle outside a transaction) it just runs the statement. For statements
 * whose plan must not depend on PostgreSQL's choice between plans (docs/performance.md, "The admission's match
 * planned on every call").
 */
export async function withPlannerSettings<T>(
  tx: Db,
  settings: Readonly<Record<string, string>>,
  statement: () => Promise<T>,
): Promise<T> {
  const send = tx.kind === 'postgres' ? tx.sendWithNext?.bind(tx) : undefined;
  if (!send) return statement();
  const names = Object.keys(settings);
  for (const name of names) send(`SET LOCAL ${name} = ${settings[name]}`);
  const out = await statement();
  for (const name of names) send(`SET LOCAL ${name} = DEFAULT`);
  return out;
}

/** `tx.holdUntilNext(...)` where the handle has it, else runs the statement now (errors through `mapError`). */
export async function runOrHold(
  tx: Db,
  sql: string,
  params: readonly unknown[],
  mapError: (err: unknown) => unknown,
): Promise<void> {
  if (tx.holdUntilNext) return tx.holdUntilNext(sql, params, mapError);
  try {
    await tx.query(sql, params);
  } catch (err) {
    throw mapError(err);
  }
}

/** The channel the store notifies when a statement wrote outbox rows (`src/store/write-sql.ts`). */
export const OUTBOX_CHANNEL = 'svu_outbox';

export interface ClosableDb extends Db {
  close(): Promise<void>;
}

/**
 * An array parameter the planner sees only at execution (a scalar subquery): `unnest(${planAsGeneric('$1', 'text[]')})`
 * or `id = ANY(${planAsGeneric('$2', 'text[]')})`. Given the array itself, PostgreSQL estimates a custom plan for
 * its exact length, judges it cheaper than the generic plan (made for 100 or 10 elements) and plans the named
 * statement again on every call: 0.6–0.9 ms of planning for 0.06–0.07 ms of work on the stay read and the
 * subscriber's read (pg_stat_statements, notify bench, 2026-12-04). Hidden, both plans have the same estimate and
 * the generic one is reused. For statements whose plan does not depend on the array's length (keyed lookups).
 */
export function planAsGeneric(arrayParam: string, type: string): string {
  return `(SELECT ${arrayParam}::${type})::${type}`; // the outer cast: in ANY(...) an expression, not a subquery
}

/**
 * PostgreSQL refused a named statement because a schema change altered its result columns ("cached plan must not
 * change result type"): the statement has been renamed (ADR 032), so running the work again succeeds.
 */
export function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; routine?: unknown } | null;
  return e?.code === '0A000' && e.routine === 'RevalidateCachedQuery';
}
