import type { Db, QueryResult } from '../../src/store/db.port';

/** A Db that passes every query on to `db` and remembers the last one sent outside a transaction (plan tests). */
export function recordingDb(db: Db): { db: Db; last(): { sql: string; values: readonly unknown[] } } {
  let last: { sql: string; values: readonly unknown[] } | undefined;
  const recording: Db = {
    kind: db.kind,
    query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
      last = { sql, values };
      return db.query<R>(sql, values);
    },
    transaction: (fn) => db.transaction(fn),
  };
  return {
    db: recording,
    last() {
      if (!last) throw new Error('no query was sent');
      return last;
    },
  };
}
