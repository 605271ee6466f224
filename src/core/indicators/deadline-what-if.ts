/**
 * Deadlines what-if (pure): the same stays' obligations under two agreements, each judged against what the
 * parties actually did (the hospital's send times, the receivers' acknowledgements), counted per Task code as
 * met / missed / open / without deadline, side by side with the difference. What a region needs when it
 * renegotiates: "with Jönköping's deadlines, how many of our SIP invitations would have been late?"
 */
import type { Party, StayEvaluation } from '../engine/types';

export type DeadlineStatus = 'met' | 'missed' | 'open' | 'no-deadline';

export interface DeadlineCounts {
  met: number;
  missed: number;
  open: number;
  noDeadline: number;
}

export interface DeadlineRow {
  code: string;
  base: DeadlineCounts;
  alternative: DeadlineCounts;
  /** alternative − base, for met and missed. */
  difference: { met: number; missed: number };
}

/** `municipality` for the municipality's duties, `region` for the hospital's and region outpatient care's. */
export type PartySide = 'municipality' | 'region';

export const sideOf = (p: Party): PartySide =>
  p.kind === 'municipality' || p.kind === 'municipal-nurse' ? 'municipality' : 'region';

/** When a receiver acknowledged its Task, by `code|side` (the earliest). */
export type Acknowledgements = ReadonlyMap<string, string>;

const SKIP = new Set(['avvikelse', 'makulering']);

export function judge(
  e: StayEvaluation,
  acks: Acknowledgements,
  now: string,
): { code: string; status: DeadlineStatus }[] {
  const out: { code: string; status: DeadlineStatus }[] = [];
  for (const t of e.tasks) {
    if (t.status === 'cancelled' || SKIP.has(t.code)) continue;
    const metAt = t.metAt ?? acks.get(`${t.code}|${sideOf(t.owner)}`);
    let status: DeadlineStatus;
    if (!t.due) status = 'no-deadline';
    else if (metAt) status = Date.parse(metAt) <= Date.parse(t.due) ? 'met' : 'missed';
    else status = Date.parse(now) > Date.parse(t.due) ? 'missed' : 'open';
    out.push({ code: t.code, status });
  }
  return out;
}

const zero = (): DeadlineCounts => ({ met: 0, missed: 0, open: 0, noDeadline: 0 });

function add(c: DeadlineCounts, s: DeadlineStatus): void {
  if (s === 'no-deadline') c.noDeadline++;
  else c[s]++;
}

/** Per Task code, both agreements' counts over the same stays, plus a total row (code `*`). */
export function compareDeadlines(
  stays: readonly {
    base: { code: string; status: DeadlineStatus }[];
    alternative: { code: string; status: DeadlineStatus }[];
  }[],
): DeadlineRow[] {
  const rows = new Map<string, DeadlineRow>();
  const row = (code: string) => {
    let r = rows.get(code);
    if (!r) rows.set(code, (r = { code, base: zero(), alternative: zero(), difference: { met: 0, missed: 0 } }));
    return r;
  };
  for (const s of stays) {
    for (const j of s.base) for (const code of [j.code, '*']) add(row(code).base, j.status);
    for (const j of s.alternative) for (const code of [j.code, '*']) add(row(code).alternative, j.status);
  }
  for (const r of rows.values()) {
    r.difference = { met: r.alternative.met - r.base.met, missed: r.alternative.missed - r.base.missed };
  }
  return [...rows.values()].sort((a, b) => (a.code === '*' ? 1 : b.code === '*' ? -1 : a.code.localeCompare(b.code)));
}
