import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { matchTargets } from '../../src/store/match-sql';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A transaction Bundle's match by `identifier=` (every admission) runs with its generic plan and without sequential
 * scans on PostgreSQL: left to choose, PostgreSQL planned it again on nearly every call on a growing store, 2.5–3 ms
 * of planning for 0.1–0.2 ms of work, and a generic plan made on a small store scanned the tables whole as they grew
 * (docs/performance.md, "The admission's match planned on every call"). Other criteria keep PostgreSQL's choice,
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
    // statistics of a young store, as autovacuum takes them soon after the first writes
    await db.query('ANALYZE fhir_resource');
    await db.query('ANALYZE fhir_search');
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
    'when the store grows after the plan was made, then the match still reads only by the indexes',
    async () => {
      const query = `identifier=${SYSTEM}|191212121212`;
      // the generic plan, made while the store holds one Patient (named and prepared here, or by the test before)
      for (let i = 0; i < 10; i++)
        await db.transaction((tx) => matchTargets(tx, undefined, [{ type: 'Patient', query }]));
      await db.query(
        `INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, method, content)
         SELECT 'Patient', 'grown-' || g, 1, now(), 'POST', json_build_object('resourceType', 'Patient', 'text', repeat('x', 300))::text
         FROM generate_series(1, 5000) g`,
      );
      await db.query(
        `INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
         SELECT 'Patient', 'grown-' || g, 'identifier', $1, '20' || lpad(g::text, 10, '0') FROM generate_series(1, 5000) g`,
        [SYSTEM],
      );
      const scans = await db.transaction(async (tx) => {
        const rows = await matchTargets(tx, undefined, [{ type: 'Patient', query }]);
        expect(rows[0]?.map((r) => r.id)).toEqual(['p1']);
        return (
          await tx.query<{ n: number }>(
            `SELECT coalesce(sum(seq_scan), 0)::int AS n FROM pg_stat_xact_user_tables
             WHERE relname IN ('fhir_resource', 'fhir_search')`,
          )
        ).rows[0]!.n;
      });
      expect(scans).toBe(0);
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
      return (
        await tx.query<{ seq: string; mode: string }>(
          `SELECT current_setting('enable_seqscan') AS seq, current_setting('plan_cache_mode') AS mode`,
        )
      ).rows[0];
    });
    expect(mode).toEqual({ seq: 'on', mode: 'auto' });
  });
});
