/**
 * A year of synthetic stays, written two ways from the same parameters: as the facts the gateway stores
 * (`stay_fact`) and as the liability file's lines. The seed's worked examples are embedded: Jönköping 003
 * "Exempel på beräkning" kommun A–D in March 2022, and the law's 12.00 rule.
 */
import type { StayInput } from '../../src/core/liability/stay';
import type { ReadinessCriterion, StayFact } from '../../src/core/stay/facts';

const H = 3_600_000;
const DAY = 24 * H;
const ALL_CRITERIA: ReadinessCriterion[] = [
  'physician-assessed',
  'written-information',
  'fvk-appointed',
  'information-transferred',
  'assistive-devices',
  'medication-list',
];

export interface SyntheticStay {
  id: string;
  municipality: string;
  placing?: string;
  care: 'somatic' | 'psychiatric';
  readyAt: number;
  dischargedAt: number;
  /** A first ready notice withdrawn before the last one (avbrott). */
  withdrawn: boolean;
  estimated: boolean;
  sipNeeded: boolean;
  sipHeld: boolean;
  outpatientUnavailable: boolean;
  categoryB: boolean;
}

/** Deterministic pseudo-random numbers (a fixed seed: the same year every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const MUNICIPALITIES = ['0680', '0683', '0684', '1980', '2180'];

/** Seed 003 kommun A–D: days ready per stay, discharged in March 2022 (24-hour blocks; 08:00 ready). */
const WORKED: Record<string, number[]> = {
  '0601': [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3],
  '0602': [2, 2, 2, 3, 3, 3, 3, 3, 3, 3],
  '0603': [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 9],
  '0604': [...Array<number>(14).fill(3), ...Array<number>(10).fill(4), 10, 12],
};

function base(id: string, municipality: string, readyAt: number, dischargedAt: number): SyntheticStay {
  return {
    id,
    municipality,
    care: 'somatic',
    readyAt,
    dischargedAt,
    withdrawn: false,
    estimated: true,
    sipNeeded: false,
    sipHeld: false,
    outpatientUnavailable: false,
    categoryB: false,
  };
}

export function syntheticYear(year: number, count: number, seed = 7): SyntheticStay[] {
  const rand = rng(seed);
  const out: SyntheticStay[] = [];
  for (let i = 0; i < count; i++) {
    const start = Date.UTC(year, 0, 3) + Math.floor(rand() * 350) * DAY + Math.floor(rand() * 14 + 6) * H;
    const days = rand() < 0.6 ? Math.floor(rand() * 4) : Math.floor(rand() * 15);
    const s = base(`syn-${year}-${i}`, MUNICIPALITIES[i % MUNICIPALITIES.length] ?? '0680', start, 0);
    s.dischargedAt = start + days * DAY + Math.floor(rand() * 10) * H;
    s.placing = rand() < 0.05 ? '0685' : undefined;
    s.care = rand() < 0.1 ? 'psychiatric' : 'somatic';
    s.withdrawn = rand() < 0.1;
    s.estimated = rand() < 0.97;
    s.sipNeeded = rand() < 0.3;
    s.sipHeld = s.sipNeeded && rand() < 0.8;
    s.outpatientUnavailable = rand() < 0.03;
    s.categoryB = rand() < 0.05;
    out.push(s);
  }
  // Seed 003's worked examples, March 2022 (a ready notice at 08:00, discharge the given 24-hour blocks later).
  for (const [code, list] of Object.entries(WORKED)) {
    list.forEach((d, k) => {
      const ready = Date.UTC(year, 2, 3 + (k % 10), 7);
      out.push(base(`ex-${code}-${k}`, code, ready, ready + d * DAY + 2 * H));
    });
  }
  // The law's 12.00 rule: ready 13:00 local, discharged four calendar days later (3 days counted, 0 billed).
  const late = Date.UTC(year, 4, 10, 11);
  out.push(base(`ex-noon-late`, '1980', late, late + 4 * DAY));
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The facts the hospital would have sent for the stay, as intake stores them. */
export function factsOf(s: SyntheticStay): StayFact[] {
  const at = (ms: number) => iso(ms);
  const admitted = s.readyAt - 4 * DAY;
  const f = (n: number, kind: string, when: number, extra: object = {}) =>
    ({ id: `${s.id}#${n}`, stayId: s.id, kind, at: at(when), ...extra }) as StayFact;
  const facts: StayFact[] = [
    f(1, 'admitted', admitted, {
      hospital: 'SE2321000016-H001',
      care: s.care,
      patient: { municipality: s.municipality, ...(s.placing ? { placingMunicipality: s.placing } : {}) },
    }),
    f(
      2,
      'needs-assessed',
      admitted + H,
      s.categoryB
        ? { needs: ['oppenvard'], consent: 'ja', category: 'B', sipNeeded: false }
        : { needs: ['socialtjanst'], consent: 'ja', sipNeeded: s.sipNeeded },
    ),
    f(3, 'readiness-criteria-met', admitted + 2 * H, { criteria: ALL_CRITERIA }),
  ];
  if (s.estimated) facts.push(f(4, 'estimated-discharge-set', admitted + 3 * H, { date: at(s.dischargedAt) }));
  if (s.withdrawn) {
    facts.push(f(5, 'ready-for-discharge', s.readyAt - 2 * DAY));
    facts.push(f(6, 'ready-withdrawn', s.readyAt - DAY));
  }
  facts.push(f(7, 'ready-for-discharge', s.readyAt));
  if (s.sipHeld) facts.push(f(8, 'sip-meeting-held', s.readyAt + H));
  if (s.outpatientUnavailable)
    facts.push(f(9, 'outpatient-services-unavailable', s.readyAt + H, { unavailable: true }));
  facts.push(f(10, 'discharged', s.dischargedAt));
  return facts;
}

/** The same stay as a line of the liability file (fields from the parameters, not from the engine). */
export function fileLineOf(s: SyntheticStay): StayInput {
  return {
    id: s.id,
    municipality: s.municipality,
    placingMunicipality: s.placing ?? null,
    care: s.care,
    admittedAt: iso(s.readyAt - 4 * DAY),
    readyAt: iso(s.readyAt),
    dischargedAt: iso(s.dischargedAt),
    admissionNoticeSent: true,
    estimatedDischargeDateSent: s.estimated,
    readyNoticeSent: true,
    sipRequired: s.sipNeeded,
    sipInvitationSent: s.sipHeld,
    outpatientServicesUnavailable: s.outpatientUnavailable,
    ...(s.categoryB ? { category: 'B' } : {}),
    ...(s.withdrawn
      ? { withdrawnReadyPeriods: [{ readyAt: iso(s.readyAt - 2 * DAY), withdrawnAt: iso(s.readyAt - DAY) }] }
      : {}),
  };
}
