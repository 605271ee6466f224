/**
 * What a deviation (*avvikelse*, seed 001 §5.3, 003 "Rapporterade avvikelser") is for the follow-up (pure). One
 * definition that the deviation list (`/admin/api/deviations`), the dashboard and the `deviations` indicator all
 * read, so they count the same:
 *
 * - a **deviation step of the deadline ladder that fired** (a duty not met by its deadline: the agreement's
 *   `deviation` step, 72 h after the deadline by default), whatever number of copies (one per principal) it wrote;
 * - a **deviation a party reported** (`$report-deviation`), whatever number of copies (one per recipient) it wrote.
 *
 * Each is counted once, against the party responsible for the duty (the missed Task's owner, or the party reported),
 * under the duty's Task code (or the kind reported), in the local month (Europe/Stockholm) in which it occurred: when
 * the ladder's deviation step was due (not when a worker got to it) or when the party reported it. The seeds say deviations are reported and followed up over time but
 * not in which month one counts; it is not the month of the stay's discharge (a deviation on a stay still in hospital
 * counts too). A party sees the deviations it holds a copy of, as it sees the copies themselves.
 */
import { fromLocal } from '../calendar/stockholm-time';
import { localMonth } from '../liability/day-count';

export type DeviationSource = 'deadline' | 'report';

export interface Deviation {
  /** One per deviation: `deadline:<missed Task id>/<step id>` or `report:<groupIdentifier>`. */
  key: string;
  source: DeviationSource;
  /** When it occurred (the ladder's step was due, the report was made): an ISO instant. */
  at: string;
  /** `Organization/<id>` of the party whose duty was not met ('' when not known). */
  responsible: string;
  /** The missed duty's Task code, or the kind a party reported it under (`okänd` when not known). */
  kind: string;
  /** The organisations holding a copy (`Organization/<id>`): who may see it. */
  holders: readonly string[];
}

export const UNKNOWN_KIND = 'okänd';
const TZ = 'Europe/Stockholm';

/** The local month (`YYYY-MM`) a deviation counts in. */
export const deviationMonth = (d: Deviation): string => localMonth(d.at, TZ);

/** [from, to) of a local month (`YYYY-MM`) as instants: the window whose deviations count in it. */
export function localMonthWindow(month: string): { from: Date; to: Date } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const at = (year: number, mon: number) =>
    new Date(fromLocal({ year, month: mon, day: 1, hour: 0, minute: 0, second: 0, ms: 0 }));
  return { from: at(y, m), to: m === 12 ? at(y + 1, 1) : at(y, m + 1) };
}

/** Whether a tenant (its organisations; undefined = the whole region) sees a deviation: it holds a copy. */
export function visibleTo(d: Deviation, owners?: readonly string[]): boolean {
  return owners === undefined || d.holders.some((h) => owners.includes(h));
}

/** One per key (a deviation read twice, e.g. from two windows, counts once), in time order. */
export function distinctDeviations(list: readonly Deviation[]): Deviation[] {
  const byKey = new Map<string, Deviation>();
  for (const d of list) if (!byKey.has(d.key)) byKey.set(d.key, d);
  return [...byKey.values()].sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
}

/** The number of deviations in each of `months` (others are left out). */
export function deviationsPerMonth(months: readonly string[], list: readonly Deviation[]): number[] {
  const index = new Map(months.map((m, i) => [m, i]));
  const counts = months.map(() => 0);
  for (const d of distinctDeviations(list)) {
    const i = index.get(deviationMonth(d));
    if (i !== undefined) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

export interface DeviationSummary {
  total: number;
  bySource: Record<DeviationSource, number>;
  /** Per responsible party, with counts per kind (the missed duty's Task code or the kind reported). */
  parties: { party: string; total: number; byCode: Record<string, number> }[];
  byCode: Record<string, number>;
}

/** Totals per responsible party and per kind. */
export function summariseDeviations(list: readonly Deviation[]): DeviationSummary {
  const parties = new Map<string, DeviationSummary['parties'][number]>();
  const out: DeviationSummary = { total: 0, bySource: { deadline: 0, report: 0 }, parties: [], byCode: {} };
  for (const d of distinctDeviations(list)) {
    const party = d.responsible || 'unknown';
    let p = parties.get(party);
    if (!p) parties.set(party, (p = { party, total: 0, byCode: {} }));
    p.total += 1;
    p.byCode[d.kind] = (p.byCode[d.kind] ?? 0) + 1;
    out.byCode[d.kind] = (out.byCode[d.kind] ?? 0) + 1;
    out.bySource[d.source] += 1;
    out.total += 1;
  }
  out.parties = [...parties.values()].sort((a, b) => a.party.localeCompare(b.party));
  return out;
}
