import type { StayFact } from '../../core/stay/facts';
import type { Db } from '../../store/db.port';

/**
 * Serialises all work on one stay across processes and connections: a transaction-scoped advisory lock on
 * the stay key (PostgreSQL; on PGlite, which has one connection, transactions are serial anyway and the
 * call is cheap).
 */
export async function lockStay(tx: Db, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`stay:${key}`]);
}

/** Stores facts; a fact id seen before is ignored. Returns how many were new. */
export async function storeFacts(tx: Db, facts: readonly StayFact[], source: 'hl7' | 'fhir'): Promise<number> {
  let added = 0;
  for (const f of facts) {
    const r = await tx.query(
      `INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (fact_id) DO NOTHING`,
      [f.id, f.stayId, f.kind, f.at, JSON.stringify(f), source],
    );
    added += r.rowCount;
  }
  return added;
}

/** Every stored fact of a stay (the engine orders them itself). */
export async function loadFacts(tx: Db, stayId: string): Promise<StayFact[]> {
  const r = await tx.query<{ body: StayFact | string }>(
    'SELECT body FROM stay_fact WHERE stay_id = $1 ORDER BY at, fact_id',
    [stayId],
  );
  return r.rows.map((row) => (typeof row.body === 'string' ? (JSON.parse(row.body) as StayFact) : row.body));
}
