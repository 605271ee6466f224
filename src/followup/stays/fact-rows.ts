/** Rows of `stay_fact` (a driver gives `body` as JSON text or as parsed JSON), grouped by stay in row order. */
import type { StayFact } from '../../core/stay/facts';

export interface FactRow {
  stay_id: string;
  body: StayFact | string;
}

export function factsByStay(rows: readonly FactRow[]): Map<string, StayFact[]> {
  const out = new Map<string, StayFact[]>();
  for (const row of rows) {
    const fact = typeof row.body === 'string' ? (JSON.parse(row.body) as StayFact) : row.body;
    const list = out.get(row.stay_id);
    if (list) list.push(fact);
    else out.set(row.stay_id, [fact]);
  }
  return out;
}
