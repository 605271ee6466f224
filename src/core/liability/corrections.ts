/**
 * Corrections (pure): a month recomputed after late facts, compared with what was reported for it. Per
 * municipality the difference in days and amount is a debit (more to pay) or a credit (paid too much), with the
 * stays whose billable days changed, so the correction is as traceable as the invoice.
 */
import type { LiabilityReport } from './compute-liability';

/** What an invoice basis holds per municipality: enough to compare a later computation with it. */
export interface ReportedMunicipality {
  municipality: string;
  days: number;
  amount: number;
  stays: { id: string; billableDays: number }[];
}

export interface Correction {
  municipality: string;
  kind: 'debit' | 'credit';
  reported: { days: number; amount: number };
  current: { days: number; amount: number };
  difference: { days: number; amount: number };
  /** Stays added, removed or changed since the report (billable days then and now; 0 when absent). */
  stays: { id: string; reported: number; current: number }[];
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const r2 = (x: number): number => Math.round(x * 100) / 100;

export function basisOf(report: LiabilityReport): ReportedMunicipality[] {
  return report.municipalities.map((m) => ({
    municipality: m.municipality,
    days: m.days,
    amount: m.amount,
    stays: m.stays.map((s) => ({ id: s.id, billableDays: s.billableDays })),
  }));
}

function stayChanges(before: ReportedMunicipality | undefined, now: ReportedMunicipality | undefined) {
  const then = new Map((before?.stays ?? []).map((s) => [s.id, s.billableDays]));
  const cur = new Map((now?.stays ?? []).map((s) => [s.id, s.billableDays]));
  const ids = [...new Set([...then.keys(), ...cur.keys()])].sort();
  return ids
    .map((id) => ({ id, reported: then.get(id) ?? 0, current: cur.get(id) ?? 0, seen: then.has(id) && cur.has(id) }))
    .filter((s) => !s.seen || s.reported !== s.current)
    .map(({ id, reported, current }) => ({ id, reported, current }));
}

/** The corrections from `reported` to `current`; municipalities whose days and amount are unchanged have none. */
export function corrections(reported: ReportedMunicipality[], current: ReportedMunicipality[]): Correction[] {
  const before = new Map(reported.map((m) => [m.municipality, m]));
  const now = new Map(current.map((m) => [m.municipality, m]));
  const codes = [...new Set([...before.keys(), ...now.keys()])].sort();
  const out: Correction[] = [];
  for (const code of codes) {
    const b = before.get(code);
    const n = now.get(code);
    const days = r4((n?.days ?? 0) - (b?.days ?? 0));
    const amount = r2((n?.amount ?? 0) - (b?.amount ?? 0));
    if (days === 0 && amount === 0) continue;
    out.push({
      municipality: code,
      kind: amount > 0 || (amount === 0 && days > 0) ? 'debit' : 'credit',
      reported: { days: b?.days ?? 0, amount: b?.amount ?? 0 },
      current: { days: n?.days ?? 0, amount: n?.amount ?? 0 },
      difference: { days, amount },
      stays: stayChanges(b, n),
    });
  }
  return out;
}
