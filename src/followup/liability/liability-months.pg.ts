/**
 * The stored stays of a run of months for one agreement, month by month (bounded memory: one month's stays at a
 * time), each stay folded once per run (or taken from the fold cache). Whether the named care contact invited to the
 * SIP is one of the stay's facts (`sip-invitation-sent`), read by the engine like the others. For the next-month model
 * the averages of the earlier months are carried along (per payer and month, the sum and count of the days in the
 * average) instead of reloading every discharge since 2018 for each month.
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import { averageTerm, type MonthAverage } from '../../core/liability/compute-liability';
import type { StoredStay } from '../../core/liability/from-facts';
import type { PaymentModel } from '../../core/liability/payment-model';
import type { Db } from '../../store/db.port';
import { BATCH, inBatches } from '../stays/batches';
import { foldsOf, type FoldStats } from '../stays/stay-folds.pg';
import { factsFingerprint, type StayIndex } from '../stays/stay-index.pg';
import { StringPool } from '../stays/string-pool';

/** The stored stays at `ranks` of the index (in that order), folded under the agreement. */
async function storedAt(
  db: Db,
  agreement: Agreement,
  index: StayIndex,
  ranks: readonly number[],
  pool: StringPool,
  stats?: FoldStats,
): Promise<StoredStay[]> {
  const load = async (i: number) => {
    const ids = ranks.slice(i, i + BATCH).map((r) => index.ids[r] ?? '');
    const fps = ranks.slice(i, i + BATCH).map((r) => factsFingerprint(index, r));
    const folds = await foldsOf(db, agreement, ids, fps, 'stored', stats);
    return folds.map((f) => pooled(f, pool));
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
): AsyncGenerator<StoredMonth> {
  const n = index.ids.length;
  const pool = new StringPool();
  const averages = payment.model === 'average-next-month' ? new Averages(n) : undefined;
  if (averages) {
    const earlier: number[] = [];
    for (let r = 0; r < n; r++) if (index.history[r] === 1) earlier.push(r);
    for (let i = 0; i < earlier.length; i += BATCH) {
      const part = earlier.slice(i, i + BATCH);
      const stored = await storedAt(db, agreement, index, part, pool, stats);
      stored.forEach((s, k) => averages.add(part[k] ?? 0, s, payment));
    }
  }
  for (let m = 0; m < index.months.length; m++) {
    const month = index.months[m] ?? '';
    const ranks: number[] = [];
    for (let r = 0; r < n; r++) if (((index.liability[r] ?? 0) & (1 << m)) !== 0) ranks.push(r);
    const stored = await storedAt(db, agreement, index, ranks, pool, stats);
    if (!averages) {
      yield { month, stored };
      continue;
    }
    stored.forEach((s, k) => averages.add(ranks[k] ?? 0, s, payment));
    yield { month, stored, history: averages.before(month) };
  }
}
