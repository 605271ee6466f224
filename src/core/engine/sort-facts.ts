import type { StayFact, StayFactKind } from '../stay/facts';

/**
 * At the same instant, facts apply in process order (admission before needs before the ready notice before
 * discharge before a cancellation), so a batch that carries several facts with one timestamp evaluates the
 * same whatever their ids.
 */
const RANK: Record<StayFactKind, number> = {
  admitted: 0,
  'patient-updated': 1,
  'receiver-rejected': 1,
  transferred: 1,
  'needs-assessed': 2,
  'compulsory-outpatient-care': 2,
  'outpatient-services-unavailable': 2,
  'estimated-discharge-set': 3,
  'readiness-criteria-met': 4,
  'leave-ended': 5,
  'ready-for-discharge': 6,
  'ready-withdrawn': 7,
  'sip-meeting-held': 7,
  'sip-invitation-sent': 7,
  'leave-started': 8,
  discharged: 9,
  'discharge-cancelled': 10,
  died: 11,
  'admission-cancelled': 12,
};

export interface TimedFact {
  fact: StayFact;
  ms: number;
}

/**
 * Sort by (at, process rank, recorded order, id) and drop repeated ids (the earliest copy wins), so any permutation or
 * duplication of the same facts gives the same sequence. Facts with an unparseable `at` are returned apart.
 */
export function orderFacts(facts: readonly StayFact[]): { ordered: TimedFact[]; invalid: StayFact[] } {
  const timed: TimedFact[] = [];
  const invalid: StayFact[] = [];
  for (const fact of facts) {
    const ms = Date.parse(fact.at);
    if (Number.isNaN(ms)) invalid.push(fact);
    else timed.push({ fact, ms });
  }
  timed.sort((a, b) => {
    if (a.ms !== b.ms) return a.ms - b.ms;
    const r = RANK[a.fact.kind] - RANK[b.fact.kind];
    if (r !== 0) return r;
    // Then the first recorded first: a later copy (a death reported again) never takes the first one's place.
    const q = (a.fact.recorded ?? 0) - (b.fact.recorded ?? 0);
    if (q !== 0) return q;
    return a.fact.id < b.fact.id ? -1 : a.fact.id > b.fact.id ? 1 : 0;
  });
  const seen = new Set<string>();
  const ordered: TimedFact[] = [];
  for (const t of timed) {
    if (seen.has(t.fact.id)) continue;
    seen.add(t.fact.id);
    ordered.push(t);
  }
  const invalidOnce: StayFact[] = [];
  for (const f of [...invalid].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (seen.has(f.id)) continue;
    seen.add(f.id);
    invalidOnce.push(f);
  }
  return { ordered, invalid: invalidOnce };
}
