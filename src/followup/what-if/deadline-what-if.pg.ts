/**
 * Deadlines what-if from the store: the stays admitted in a month, their facts folded under the region's
 * agreement and under another (or an edited copy in AGREEMENTS_DIR), each obligation judged against what the
 * parties did: the hospital's send times (the engine's `metAt`) and the receivers' first acknowledgement of their
 * Task (received / accepted / completed in its history).
 */
import type { Task } from '@medplum/fhirtypes';
import type { Agreement } from '../../core/agreements/agreement.schema';
import { evaluateStay } from '../../core/engine/evaluate';
import { compareDeadlines, judge, type DeadlineRow, type PartySide } from '../../core/indicators/deadline-what-if';
import type { StayFact } from '../../core/stay/facts';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import type { Db } from '../../store/db.port';

export interface DeadlineWhatIf {
  month: string;
  agreement: string;
  alternative: string;
  stays: number;
  /** Per Task code, then the total (`*`). */
  rows: DeadlineRow[];
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

async function factsOfMonth(db: Db, month: string): Promise<Map<string, StayFact[]>> {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const from = new Date(Date.UTC(y, m - 1, 1) - 2 * 3_600_000).toISOString();
  const to = new Date(Date.UTC(y, m, 1)).toISOString();
  const r = await db.query<{ stay_id: string; body: StayFact | string }>(
    `SELECT stay_id, body FROM stay_fact WHERE stay_id IN (
       SELECT stay_id FROM stay_fact WHERE kind = 'admitted' AND at >= $1 AND at < $2)
     ORDER BY stay_id, at, fact_id`,
    [from, to],
  );
  const out = new Map<string, StayFact[]>();
  for (const row of r.rows) {
    const list = out.get(row.stay_id) ?? [];
    list.push(json(row.body));
    out.set(row.stay_id, list);
  }
  // The window started 2 h early (Stockholm is UTC+1/+2): keep the stays admitted in the local month only.
  for (const [id, fs] of out) {
    const at = fs.find((f) => f.kind === 'admitted')?.at ?? '';
    const local = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit' })
      .format(new Date(at))
      .slice(0, 7);
    if (local !== month) out.delete(id);
  }
  return out;
}

/** Per stay, `code|side` → the first acknowledgement time of a receiver's Task. */
async function acknowledgements(db: Db, stayIds: string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  if (stayIds.length === 0) return out;
  const orgs = await db.query<{ id: string }>(
    `SELECT id FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted
       AND content::jsonb -> 'identifier' @> jsonb_build_array(jsonb_build_object('system', $1::text))`,
    [IDENTIFIER_SYSTEM.kommunkod],
  );
  const municipal = new Set(orgs.rows.map((o) => `Organization/${o.id}`));
  const r = await db.query<{ content: string; acked: Date | string | null }>(
    `SELECT t.content, (SELECT MIN(h.last_updated) FROM fhir_resource_history h
        WHERE h.resource_type = 'Task' AND h.id = t.id
          AND h.content::jsonb ->> 'status' IN ('received', 'accepted', 'completed')) AS acked
     FROM fhir_resource t
     WHERE t.resource_type = 'Task' AND NOT t.deleted AND t.id IN (
       SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'encounter'
         AND (value = ANY($1::text[]) OR value = ANY($2::text[])))`,
    [stayIds, stayIds.map((id) => `Encounter/${id}`)],
  );
  for (const row of r.rows) {
    if (!row.acked) continue;
    const task = JSON.parse(row.content) as Task;
    const stay = task.encounter?.reference?.replace(/^Encounter\//, '') ?? '';
    const side: PartySide = municipal.has(task.owner?.reference ?? '') ? 'municipality' : 'region';
    const key = `${task.code?.coding?.[0]?.code ?? ''}|${side}`;
    const at = new Date(row.acked).toISOString();
    const m = out.get(stay) ?? new Map<string, string>();
    const prev = m.get(key);
    if (!prev || at < prev) m.set(key, at);
    out.set(stay, m);
  }
  return out;
}

export async function deadlineWhatIf(
  db: Db,
  base: Agreement,
  alternative: Agreement,
  month: string,
  now: Date,
): Promise<DeadlineWhatIf> {
  const facts = await factsOfMonth(db, month);
  const acks = await acknowledgements(db, [...facts.keys()]);
  const at = now.toISOString();
  const stays = [...facts].map(([id, fs]) => {
    const a = acks.get(id) ?? new Map<string, string>();
    return { base: judge(evaluateStay(fs, base), a, at), alternative: judge(evaluateStay(fs, alternative), a, at) };
  });
  return { month, agreement: base.id, alternative: alternative.id, stays: facts.size, rows: compareDeadlines(stays) };
}
