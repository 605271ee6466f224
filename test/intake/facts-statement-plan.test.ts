import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StayFact } from '../../src/core/stay/facts';
import { storeAndLoadFacts } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

/**
 * The facts statement of every admission reads the stay's facts by the stay's index at any size of `stay_fact`: its
 * generic plan, made while the table was small, read the whole table on every call while the store grew (a
 * sequential scan, 8 672 rows for one stay in the `api` bench; docs/performance.md, "The admission's match planned on
 * every call"). And it is not planned again on every call.
 */
describe.each(testDatabases())('the facts statement on %s', (kind) => {
  let db: ClosableDb;
  const fact = (stay: string, n: number): StayFact => ({
    id: `test:${stay}#${n}`,
    stayId: stay,
    kind: 'discharged',
    at: `2026-12-08T01:${String(n % 60).padStart(2, '0')}:00Z`,
  });

  beforeAll(async () => {
    db = await openTestDb(kind, { max: 1 }); // one connection: one plan cache
  });
  afterAll(async () => db.close());

  /** Stores one fact of `stay` and loads its facts; how many sequential scans of `stay_fact` that made. */
  const storeOne = (stay: string, n: number) =>
    db.transaction(async (tx) => {
      const loaded = await storeAndLoadFacts(tx, stay, [fact(stay, n)], 'fhir');
      const scans = await tx.query<{ n: number }>(
        `SELECT coalesce(sum(seq_scan), 0)::int AS n FROM pg_stat_xact_user_tables WHERE relname = 'stay_fact'`,
      );
      return { facts: loaded.all.map((f) => f.id), seqScans: scans.rows[0]!.n };
    });

  it.runIf(kind === 'postgres')(
    'when the store grows after the first calls, then the stay’s facts are still read by its index, with one plan',
    async () => {
      for (let i = 0; i < 10; i++) await storeOne(`young-${i}`, i); // plans made while stay_fact holds a few rows
      await db.query(
        `INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source)
         SELECT 'grown#' || g, 'grown-' || g, 'discharged', now(), jsonb_build_object('pad', repeat('x', 300)), 'fhir'
         FROM generate_series(1, 5000) g`,
      );
      const before = await db.query<{ n: number }>(
        `SELECT coalesce(sum(custom_plans), 0)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'WITH ins AS%'`,
      );
      const later = await storeOne('young-3', 99);
      expect(later.facts).toEqual(['test:young-3#3', 'test:young-3#99']);
      expect(later.seqScans).toBe(0);
      const after = await db.query<{ n: number }>(
        `SELECT coalesce(sum(custom_plans), 0)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'WITH ins AS%'`,
      );
      expect(before.rows[0]!.n).toBe(0);
      expect(after.rows[0]!.n).toBe(0);
    },
  );

  it('when a stay’s facts are stored and loaded, then the next statement runs with the planner settings it had', async () => {
    const settings = await db.transaction(async (tx) => {
      await storeAndLoadFacts(tx, 'settings-stay', [fact('settings-stay', 1)], 'fhir');
      return (
        await tx.query<{ seq: string; mode: string }>(
          `SELECT current_setting('enable_seqscan') AS seq, current_setting('plan_cache_mode') AS mode`,
        )
      ).rows[0];
    });
    expect(settings).toEqual({ seq: 'on', mode: 'auto' });
  });
});
