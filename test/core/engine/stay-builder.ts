import type { Need, PatientRouting, ReadinessCriterion, StayFact } from '../../../src/core/stay/facts';

/** Small builders for fact sequences in tests: `at` in Stockholm local time via an explicit offset. */
export const HOSPITAL = 'SE2321000222-H1';
export const VC = 'SE2321000222-VC1';
export const WESTERAS = '1980';

let n = 0;
const nextId = (kind: string): string => `f${String(++n).padStart(4, '0')}-${kind}`;

type Distribute<T> = T extends StayFact ? Omit<T, 'id' | 'stayId' | 'at'> : never;
export type FactBody = Distribute<StayFact>;

export function fact(at: string, body: FactBody, id?: string, stayId = 'stay-1'): StayFact {
  return { id: id ?? nextId(body.kind), stayId, at, ...body };
}

export const routing = (p: Partial<PatientRouting> = {}): PatientRouting => ({
  municipality: WESTERAS,
  primaryCareUnit: VC,
  ...p,
});

export const admitted = (
  at: string,
  p: Partial<PatientRouting> = {},
  care: 'somatic' | 'psychiatric' = 'somatic',
): StayFact => fact(at, { kind: 'admitted', hospital: HOSPITAL, ward: 'AVD-1', care, patient: routing(p) });

export const needs = (
  at: string,
  list: Need[],
  extra: { sipNeeded?: boolean; consent?: 'ja' | 'nej' | 'menprovning' } = {},
): StayFact => fact(at, { kind: 'needs-assessed', needs: list, ...extra });

export const estimate = (at: string, date: string): StayFact => fact(at, { kind: 'estimated-discharge-set', date });
export const criteria = (at: string, list: ReadinessCriterion[]): StayFact =>
  fact(at, { kind: 'readiness-criteria-met', criteria: list });
export const ready = (at: string): StayFact => fact(at, { kind: 'ready-for-discharge' });
export const withdrawn = (at: string): StayFact => fact(at, { kind: 'ready-withdrawn' });
export const discharged = (at: string, compulsoryOutpatientCare?: boolean): StayFact =>
  fact(
    at,
    compulsoryOutpatientCare === undefined ? { kind: 'discharged' } : { kind: 'discharged', compulsoryOutpatientCare },
  );

export const ALL_CRITERIA: ReadinessCriterion[] = [
  'physician-assessed',
  'written-information',
  'fvk-appointed',
  'information-transferred',
  'assistive-devices',
  'medication-list',
];
