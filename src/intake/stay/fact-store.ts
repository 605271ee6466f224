import type { StayFact } from '../../core/stay/facts';
import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';

/** The facts to insert, first of each fact id only (as when inserting them one by one). */
function uniqueFacts(facts: readonly StayFact[]): StayFact[] {
  const seen = new Set<string>();
  return facts.filter((f) => !seen.has(f.id) && seen.add(f.id));
}

/** A CTE `ins` inserting the facts (parameters added to `params`) and returning the new rows. */
function insertFacts(params: unknown[], facts: readonly StayFact[], source: string): string {
  const cols = [
    arrayParam(
      params,
      facts.map((f) => f.id),
      'text',
    ),
    arrayParam(
      params,
      facts.map((f) => f.stayId),
      'text',
    ),
    arrayParam(
      params,
      facts.map((f) => f.kind),
      'text',
    ),
    arrayParam(
      params,
      facts.map((f) => f.at),
      'timestamptz',
    ),
    arrayParam(
      params,
      facts.map((f) => JSON.stringify(f)),
      'jsonb',
      { json: true },
    ),
    arrayParam(
      params,
      facts.map(() => source),
      'text',
    ),
  ];
  return `WITH ins AS (
  INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source)
  SELECT * FROM unnest(${cols.join(', ')})
  ON CONFLICT (fact_id) DO NOTHING
  RETURNING fact_id, stay_id, at, body
)`;
}

const parseBody = (body: StayFact | string): StayFact =>
  typeof body === 'string' ? (JSON.parse(body) as StayFact) : body;

/**
 * Stores facts (a fact id seen before is ignored) and loads every fact of several stays, in one round trip: the
 * new rows come from the INSERT's RETURNING (a statement does not see its own inserts), the earlier ones from the
 * table. Call it after the stays'
 * locks (a separate statement, so this statement's snapshot sees everything committed before they were granted).
 * Returns, per stay id, every fact (ordered by time) and how many were new.
 */
export async function storeAndLoadFactsOfStays(
  tx: Db,
  stayIds: readonly string[],
  facts: readonly StayFact[],
  source: 'hl7' | 'fhir',
): Promise<Map<string, { added: number; all: StayFact[] }>> {
  const unique = uniqueFacts(facts);
  const ids = [...new Set([...stayIds, ...unique.map((f) => f.stayId)])];
  const params: unknown[] = [];
  const insert = insertFacts(params, unique, source);
  const stays = arrayParam(params, ids, 'text');
  const r = await tx.query<{ stay_id: string; body: StayFact | string; added: boolean }>(
    `${insert}
     SELECT stay_id, body, added FROM (
       SELECT stay_id, body, at, fact_id, false AS added FROM stay_fact WHERE stay_id = ANY(${stays})
       UNION ALL
       SELECT stay_id, body, at, fact_id, true AS added FROM ins
     ) f ORDER BY stay_id, at, fact_id`,
    params,
  );
  const out = new Map(ids.map((id) => [id, { added: 0, all: [] as StayFact[] }]));
  for (const row of r.rows) {
    const s = out.get(row.stay_id);
    if (!s) continue;
    s.all.push(parseBody(row.body));
    if (row.added) s.added++;
  }
  return out;
}

/** `storeAndLoadFactsOfStays` for one stay. */
export async function storeAndLoadFacts(
  tx: Db,
  stayId: string,
  facts: readonly StayFact[],
  source: 'hl7' | 'fhir',
): Promise<{ added: number; all: StayFact[] }> {
  const byStay = await storeAndLoadFactsOfStays(tx, [stayId], facts, source);
  const added = [...byStay.values()].reduce((n, s) => n + s.added, 0);
  return { added, all: byStay.get(stayId)?.all ?? [] };
}
