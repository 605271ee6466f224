import type { Need, PatientCategory, ReadinessCriterion, StayFact } from '../../../src/core/stay/facts';

/**
 * Deterministic synthetic stays with realistic fact sequences, for property tests and the engine benchmark.
 * Mix (roughly as 002 says): most stays need nothing (A) or only outpatient care (B), about 5 % involve the
 * municipality; some have later assessments, estimate changes, withdrawn ready, cancellations, leave,
 * transfers, deaths, SIP meetings.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MUNICIPALITIES = ['1980', '1981', '1982', '1983', '0680', '2180', '0180'];
const CRITERIA: ReadinessCriterion[] = [
  'physician-assessed',
  'written-information',
  'fvk-appointed',
  'information-transferred',
  'assistive-devices',
  'medication-list',
];
const HOUR = 3_600_000;

export interface SyntheticOptions {
  /** Share of stays that involve municipality or outpatient care (default 0.3: more interesting than 5 %). */
  involvedShare?: number;
  startMs?: number;
}

export function syntheticStay(seed: number, opts: SyntheticOptions = {}): StayFact[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const stayId = `s${seed}`;
  let n = 0;
  const facts: StayFact[] = [];
  const base =
    (opts.startMs ?? Date.UTC(2026, 0, 1)) + Math.floor(r() * 365 * 24) * HOUR + Math.floor(r() * 60) * 60_000;
  const at = (hours: number): string => new Date(base + Math.round(hours * HOUR)).toISOString();
  const add = (hours: number, body: Record<string, unknown>): void => {
    facts.push({ id: `${stayId}-${++n}`, stayId, at: at(hours), ...body } as StayFact);
  };

  const involved = r() < (opts.involvedShare ?? 0.3);
  const municipality = pick(MUNICIPALITIES);
  add(0, {
    kind: 'admitted',
    hospital: pick(['SE-H1', 'SE-H2']),
    ward: pick(['AVD-1', 'AVD-2', 'AVD-3']),
    care: r() < 0.1 ? 'psychiatric' : 'somatic',
    patient: {
      municipality,
      primaryCareUnit: r() < 0.95 ? `SE-VC${Math.floor(r() * 20)}` : undefined,
      placingMunicipality: r() < 0.03 ? pick(MUNICIPALITIES) : undefined,
      homeHealthCare: r() < 0.3,
    },
  });
  let needs: Need[] = ['ingen'];
  let category: PatientCategory | undefined;
  if (involved) {
    needs = pick<Need[]>([
      ['oppenvard'],
      ['socialtjanst'],
      ['kommunal-hsl'],
      ['oppenvard', 'socialtjanst'],
      ['socialtjanst', 'kommunal-hsl'],
      ['socialtjanst', 'kommunal-hsl', 'oppenvard'],
    ]);
    if (r() < 0.1) category = 'E';
  }
  const later = involved && r() < 0.2 ? 24 + r() * 48 : 0;
  add(later, {
    kind: 'needs-assessed',
    needs,
    consent: r() < 0.03 ? 'nej' : r() < 0.05 ? 'menprovning' : 'ja',
    sipNeeded: r() < 0.8,
    ...(category ? { category } : {}),
  });
  let t = later + 1;
  const day = (h: number): string => new Date(base + h * HOUR).toISOString().slice(0, 10);
  add(t, { kind: 'estimated-discharge-set', date: day(72 + Math.floor(r() * 96)) });
  if (r() < 0.3) add((t += 20 + r() * 30), { kind: 'estimated-discharge-set', date: day(120 + Math.floor(r() * 96)) });
  if (r() < 0.1) add((t += 2), { kind: 'transferred', ward: 'AVD-9', hospital: r() < 0.5 ? 'SE-H3' : undefined });
  // The municipality rejects the case and the registration is corrected (003 step 1a).
  if (involved && r() < 0.05)
    add((t += 3), { kind: 'patient-updated', patient: { municipality: pick(MUNICIPALITIES) } });
  // A later re-assessment of the needs (the category changes).
  if (involved && r() < 0.1)
    add((t += 4), {
      kind: 'needs-assessed',
      needs: pick<Need[]>([['socialtjanst'], ['kommunal-hsl', 'socialtjanst'], ['ingen']]),
    });
  if (r() < 0.05) {
    add((t += 5), { kind: 'admission-cancelled' });
    return facts;
  }
  if (r() < 0.05) add((t += 3), { kind: 'compulsory-outpatient-care', planned: true });
  if (r() < 0.08) {
    add((t += 10), { kind: 'leave-started' });
    add((t += 24), { kind: 'leave-ended' });
  }
  add((t += 24 + r() * 48), { kind: 'readiness-criteria-met', criteria: CRITERIA.filter(() => r() < 0.95) });
  if (r() < 0.02) {
    add((t += 5), { kind: 'died' });
    return facts;
  }
  add((t += 1), { kind: 'ready-for-discharge' });
  if (r() < 0.1) {
    add((t += 6 + r() * 24), { kind: 'ready-withdrawn' });
    add((t += 24 + r() * 24), { kind: 'readiness-criteria-met', criteria: CRITERIA });
    add((t += 1), { kind: 'ready-for-discharge' });
  }
  if (involved && r() < 0.5) add((t += 24 + r() * 48), { kind: 'sip-meeting-held' });
  if (r() < 0.05) add((t += 1), { kind: 'outpatient-services-unavailable', unavailable: true });
  add((t += 2 + r() * 96), { kind: 'discharged', compulsoryOutpatientCare: r() < 0.02 });
  if (r() < 0.03) {
    add((t += 2), { kind: 'discharge-cancelled' });
    add((t += 24), { kind: 'discharged' });
  }
  if (involved && r() < 0.3) add((t += 24 * 7), { kind: 'sip-meeting-held' });
  return facts;
}

export const AGREEMENT_MIX = ['vastmanland', 'vastmanland', 'jonkoping', 'gavleborg', 'stockholm', 'lag'] as const;
