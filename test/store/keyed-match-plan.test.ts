import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { matchTargets } from '../../src/store/match-sql';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A transaction Bundle's match by `identifier=` (every admission) runs with its generic plan on PostgreSQL: left to
 * choose, PostgreSQL planned it again on nearly every call on a growing store, 2.5–3 ms of planning for 0.1–0.2 ms
 * of work (docs/performance.md, "The admission's match planned on every call"). Other criteria keep custom plans,
 * and the statements after the match run as before.
 */
describe.each(testDatabases())('the match of a transaction Bundle on %s', (kind) => {
  let db: ClosableDb;
  const SYSTEM = 'http://electronichealth.se/identifier/personnummer';

  beforeAll(async () => {
    db = await openTestDb(kind, { max: 1 }); // one connection: its prepared statements are the ones counted
    await db.query(
      `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
       VALUES ('Patient', 'p1', 1, now(), 'POST', '{"resourceType":"Patient","id":"p1"}')`,
    );
    await db.query(
      `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
       VALUES ('Patient', 'p1', 'identifier', $1, '191212121212'), ('Patient', 'p1', 'name', NULL, 'tolvan')`,
      [SYSTEM],
    );
  });
  afterAll(async () => db.close());

  /** The named match statements prepared on this connection, with the plans PostgreSQL made for each. */
  const matchStatements = async () =>
    (
      await db.query<{ name: string; custom: number; generic: number }>(
        `SELECT name, custom_plans::int AS custom, generic_plans::int AS generic
         FROM pg_prepared_statements WHERE statement LIKE 'WITH m0 AS%'`,
      )
    ).rows;

  /** Runs the match `times` times, each in its own transaction; the plans of the statement it was named as. */
  const matchTimes = async (query: string, times: number) => {
    const before = new Set((await matchStatements()).map((s) => s.name));
    for (let i = 0; i < times; i++) {
      const rows = await db.transaction((tx) => matchTargets(tx, undefined, [{ type: 'Patient', query }]));
      expect(rows[0]?.map((r) => r.id)).toEqual(['p1']);
    }
    const added = (await matchStatements()).filter((s) => !before.has(s.name));
    expect(added).toHaveLength(1);
    return added[0]!;
  };

  it.runIf(kind === 'postgres')(
    'when an identifier match runs again and again, then PostgreSQL plans it once, generically',
    async () => {
      const p = await matchTimes(`identifier=${SYSTEM}|191212121212`, 10);
      expect(p.custom).toBe(0);
      expect(p.generic).toBeGreaterThan(0);
    },
  );

  it.runIf(kind === 'postgres')(
    'when the criteria are not an identifier, then PostgreSQL chooses its plans',
    async () => {
      const p = await matchTimes('name=tolvan', 10);
      expect(p.custom).toBeGreaterThanOrEqual(5);
    },
  );

  it('when the match is done, then the transaction runs the next statements with the plan mode it had', async () => {
    const mode = await db.transaction(async (tx) => {
      await matchTargets(tx, undefined, [{ type: 'Patient', query: `identifier=${SYSTEM}|191212121212` }]);
      return (await tx.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode;
    });
    expect(mode).toBe('auto');
  });
});
