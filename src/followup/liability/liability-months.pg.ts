/**
 * The stored stays of a run of months for one agreement, month by month (bounded memory: one month's stays at a
 * time), each stay folded once per run (or taken from the fold cache) with its SIP invitation Task as extra. For
 * the next-month model the averages of the earlier months are carried along (per payer and month, the sum and
 * count of the days in the average) instead of reloading every discharge since 2018 for each month.
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import { averageTerm, type MonthAverage } from '../../core/liability/compute-liability';
import { withExtras, type StoredStay } from '../../core/liability/from-facts';
import type { PaymentModel } from '../../core/liability/payment-model';
import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';
import { BATCH, inBatches } from '../stays/batches';
import { foldsOf, type FoldStats } from '../stays/stay-folds.pg';
import { factsFingerprint, type StayIndex } from '../stays/stay-index.pg';
import { StringPool } from '../stays/string-pool';

/**
 * Stays whose `kallelse-sip` Task the named care contact has completed (the invitation was sent): of `stayIds`, or
 * of the whole store when none are given (one pass over every SIP invitation Task, for a run over a year: 0.7 s at
 * 200 000 stays, against 0.2 s per 5 000 stays asked for by id).
 */
export async function sipInvitationsSent(db: Db, stayIds?: readonly string[]): Promise<Set<string>> {
  if (stayIds?.length === 0) return new Set();
  const params: unknown[] = [];
  const only = stayIds ? `AND e.value = ANY(${arrayParam(params, stayIds, 'text')})` : '';
  const r = await db.query<{ stay_id: string }>(
    `SELECT DISTINCT e.value AS stay_id FROM fhir_search e
     JOIN fhir_search c ON c.resource_type = 'Task' AND c.resource_id = e.resource_id
       AND c.param = 'code' AND c.value = 'kallelse-sip'
     JOIN fhir_search s ON s.resource_type = 'Task' AND s.resource_id = e.resource_id
       AND s.param = 'status' AND s.value = 'completed'
     WHERE e.resource_type = 'Task' AND e.param = 'encounter' ${only}`,
    params,
  );
  return new Set(r.rows.map((x) => x.stay_id));
}

/**
 * One pass over every SIP invitation Task costs per Task about 1/4.5 of what asking per batch costs per stay
 * (measured on PostgreSQL: 0.7 s for 70 000 such Tasks, 10 µs each, against 45 ms per 1 000 stays), so the pass is
 * taken when the run has more stays than the store has SIP invitation Tasks / 4.5 (a year of the whole store: at
 * once; a year of one region in a national store: per batch).
 */
const SIP_TASKS_PER_STAY = 4.5;

/** How a run finds the stays whose SIP invitation was sent: `auto` chooses by the counts above. */
export type SipLookup = 'auto' | 'all-at-once' | 'per-batch';

async function sipInvitationTasks(db: Db): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM fhir_search WHERE resource_type = 'Task' AND param = 'code' AND value = 'kallelse-sip'`,
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The stored stays at `ranks` of the index (in that order), folded under the agreement, with their extras. */
async function storedAt(
  db: Db,
  agreement: Agreement,
  index: StayIndex,
  ranks: readonly number[],
  pool: StringPool,
  stats?: FoldStats,
  allInvited?: ReadonlySet<string>,
): Promise<StoredStay[]> {
  const load = async (i: number) => {
    const ids = ranks.slice(i, i + BATCH).map((r) => index.ids[r] ?? '');
    const fps = ranks.slice(i, i + BATCH).map((r) => factsFingerprint(index, r));
    const [folds, invited] = await Promise.all([
      foldsOf(db, agreement, ids, fps, 'stored', stats),
      allInvited ?? sipInvitationsSent(db, ids),
    ]);
    return folds.map((f, k) => withExtras(pooled(f, pool), { sipInvitationSent: invited.has(ids[k] ?? '') }));
  };
  return inBatches(ranks.length, load);
}

/**
 * The stay with the run's one copy of its repeated strings (fact kinds, municipality codes, care, category): a
 * month of a nation is about 115 000 stays with five or so facts each.
 */
function pooled(s: StoredStay, pool: StringPool): StoredStay {
  for (const f of s.facts) f.kind = pool.of(f.kind) as typeof f.kind;
  if ('stay' in s) {
    const st = s.stay;
    st.municipality = pool.of(st.municipality);
    if (st.placingMunicipality) st.placingMunicipality = pool.of(st.placingMunicipality);
    st.care = pool.of(st.care) as typeof st.care;
    if (st.category !== undefined) st.category = pool.of(st.category);
  } else s.excluded = pool.of(s.excluded);
  return s;
}

/** Per payer and month: the days in the next-month model's average, and how many stays. */
class Averages {
  private readonly sums = new Map<string, { payer: string; month: string; days: number; n: number }>();
  private readonly seen: Uint8Array;
  constructor(size: number) {
    this.seen = new Uint8Array(size);
  }
  add(rank: number, s: StoredStay, p: PaymentModel): void {
    if (this.seen[rank] === 1 || !('stay' in s)) return;
    this.seen[rank] = 1;
    const t = averageTerm(s.stay, p);
    if (!t) return;
    const k = `${t.payer} ${t.month}`;
    const e = this.sums.get(k);
    if (e) {
      e.days += t.days;
      e.n += 1;
    } else this.sums.set(k, { payer: t.payer, month: t.month, days: t.days, n: 1 });
  }
  before(month: string): MonthAverage[] {
    const out: MonthAverage[] = [];
    for (const e of this.sums.values()) {
      if (e.month < month) out.push({ municipality: e.payer, month: e.month, average: e.days / e.n, patients: e.n });
    }
    return out;
  }
}

export interface StoredMonth {
  month: string;
  stored: StoredStay[];
  /** Next-month model: the earlier months' averages. */
  history?: MonthAverage[];
}

export async function* storedMonths(
  db: Db,
  agreement: Agreement,
  payment: PaymentModel,
  index: StayIndex,
  stats?: FoldStats,
  sipLookup: SipLookup = 'auto',
): AsyncGenerator<StoredMonth> {
  const n = index.ids.length;
  const allAtOnce =
    sipLookup === 'all-at-once' ||
    (sipLookup === 'auto' && n > 0 && (await sipInvitationTasks(db)) < n * SIP_TASKS_PER_STAY);
  // Read now, so an invitation completed while the run goes on counts the same as with a query per batch.
  const allInvited = allAtOnce ? await sipInvitationsSent(db) : undefined;
  const pool = new StringPool();
  const averages = payment.model === 'average-next-month' ? new Averages(n) : undefined;
  if (averages) {
    const earlier: number[] = [];
    for (let r = 0; r < n; r++) if (index.history[r] === 1) earlier.push(r);
    for (let i = 0; i < earlier.length; i += BATCH) {
      const part = earlier.slice(i, i + BATCH);
      const stored = await storedAt(db, agreement, index, part, pool, stats, allInvited);
      stored.forEach((s, k) => averages.add(part[k] ?? 0, s, payment));
    }
  }
  for (let m = 0; m < index.months.length; m++) {
    const month = index.months[m] ?? '';
    const ranks: number[] = [];
    for (let r = 0; r < n; r++) if (((index.liability[r] ?? 0) & (1 << m)) !== 0) ranks.push(r);
    const stored = await storedAt(db, agreement, index, ranks, pool, stats, allInvited);
    if (!averages) {
      yield { month, stored };
      continue;
    }
    stored.forEach((s, k) => averages.add(ranks[k] ?? 0, s, payment));
    yield { month, stored, history: averages.before(month) };
  }
}
