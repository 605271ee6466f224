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
  /** Which engine is behind this handle, for the few places that must know (benchmarks, diagnostics). */
  readonly kind: 'pglite' | 'postgres';
  /**
   * Calls `onNotify` for every `NOTIFY` on `channel` (delivered when the notifying transaction commits, from any
   * process). Resolves to a function that stops listening. Only on root handles; callers still poll as a fallback
   * (a notification can be missed while the listening connection reconnects).
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

/** The channel the store notifies when a statement wrote outbox rows (`src/store/write-sql.ts`). */
export const OUTBOX_CHANNEL = 'svu_outbox';

export interface ClosableDb extends Db {
  close(): Promise<void>;
}
