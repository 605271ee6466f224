/**
 * Follow-up indicators per month (pure; seed 004 "Mål och indikatorer", 003 "Uppföljning", 001 §7): plain rows in,
 * one value per indicator, month and unit out. Units are the municipality (the payer), the hospital and the
 * listed vårdcentral for stay indicators, and the responsible party (the Task's owner) for step indicators.
 */
import type { StayState } from '../engine/types';
import { deviationMonth, distinctDeviations, type Deviation } from './deviations';
import { localDayNumberAt, localMonth, localParts } from '../liability/day-count';

export interface IndicatorStay {
  stayId: string;
  municipality?: string;
  hospital?: string;
  primaryCareUnit?: string;
  admittedAt?: string;
  readyAt?: string;
  dischargedAt?: string;
  /** A stable patient key (the Patient reference); needed for re-admissions. */
  patient?: string;
  birthDate?: string;
  sipNeeded: boolean;
  sipMeetingAt?: string;
  /** The SIP invitation Task's deadline, when there is one. */
  sipDue?: string;
}

export interface IndicatorTask {
  id: string;
  code: string;
  /** `Organization/<id>` of the owner (the party that must act). */
  owner: string;
  deadline?: string;
  completedAt?: string;
  cancelled: boolean;
}

export type IndicatorId =
  | 'ready-days'
  | 'step-timeliness'
  | 'step-lateness-median'
  | 'step-lateness-p90'
  | 'deviations'
  | 'readmission-30d-65plus'
  | 'sip-within-deadline';

export type Dimension = 'municipality' | 'hospital' | 'primary-care' | 'party';

export interface IndicatorValue {
  indicator: IndicatorId;
  month: string;
  dimension: Dimension;
  unit: string;
  /** Further split (the Task code, the deviation kind), or '' when none. */
  detail: string;
  value: number;
  numerator?: number;
  denominator: number;
}

const TZ = 'Europe/Stockholm';
const DAY = 86_400_000;
const monthOf = (iso: string): string => localMonth(iso, TZ);
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Calendar days between the ready notice and the discharge (local dates; the ready day is day 0). */
export function readyDays(readyAt: string, dischargedAt: string): number {
  return readyDaysAt(Date.parse(readyAt), Date.parse(dischargedAt));
}

/** `readyDays` of instants given as epoch milliseconds. */
export function readyDaysAt(readyMs: number, dischargedMs: number): number {
  return Math.max(0, localDayNumberAt(dischargedMs, TZ) - localDayNumberAt(readyMs, TZ));
}

/** The q-quantile (nearest rank) of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? 0;
}

function group<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    if (k === undefined) continue;
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

const STAY_UNITS: [Dimension, (s: IndicatorStay) => string | undefined][] = [
  ['municipality', (s) => s.municipality],
  ['hospital', (s) => s.hospital],
  ['primary-care', (s) => s.primaryCareUnit],
];

function ageAt(birthDate: string, iso: string): number {
  const b = birthDate.slice(0, 10);
  const d = localParts(iso, TZ).date;
  const years = Number(d.slice(0, 4)) - Number(b.slice(0, 4));
  return d.slice(5) < b.slice(5) ? years - 1 : years;
}

/** What one discharged stay adds to its units' stay indicators, worked out once for all three dimensions. */
interface DischargedStay {
  stay: IndicatorStay;
  /** Ready-for-discharge days; undefined without a ready notice. */
  readyDays: number | undefined;
  /** 1 SIP held within its deadline, 0 not, -1 not counted (no SIP needed or no deadline). */
  sipHeld: number;
  /** 1 re-admitted within 30 days, 0 not, -1 not counted (under 65, or no patient or birth date). */
  readmitted: number;
}

/** Whether another stay of the same patient began within 30 days after this one ended. */
function readmittedWithin30Days(s: IndicatorStay, others: readonly IndicatorStay[]): boolean {
  const end = Date.parse(s.dischargedAt ?? '');
  return others.some((o) => {
    const at = o.admittedAt ? Date.parse(o.admittedAt) : NaN;
    return o.stayId !== s.stayId && at > end && at <= end + 30 * DAY;
  });
}

function dischargedStays(month: string, stays: readonly IndicatorStay[]): DischargedStay[] {
  const out: DischargedStay[] = [];
  // Only the patients of stays counted for re-admission need their other stays.
  const oldPatients = new Set<string>();
  for (const s of stays) {
    if (!s.dischargedAt || monthOf(s.dischargedAt) !== month) continue;
    const old =
      s.birthDate !== undefined && s.birthDate !== '' && !!s.patient && ageAt(s.birthDate, s.dischargedAt) >= 65;
    if (old) oldPatients.add(s.patient ?? '');
    const sipCounted = s.sipNeeded && !!s.sipDue;
    out.push({
      stay: s,
      readyDays: s.readyAt ? readyDays(s.readyAt, s.dischargedAt) : undefined,
      sipHeld: !sipCounted
        ? -1
        : s.sipMeetingAt && s.sipDue && Date.parse(s.sipMeetingAt) <= Date.parse(s.sipDue)
          ? 1
          : 0,
      readmitted: old ? 0 : -1,
    });
  }
  if (oldPatients.size === 0) return out;
  const byPatient = group(stays, (s) =>
    s.patient !== undefined && oldPatients.has(s.patient) ? s.patient : undefined,
  );
  for (const d of out) {
    if (d.readmitted === 0 && readmittedWithin30Days(d.stay, byPatient.get(d.stay.patient ?? '') ?? []))
      d.readmitted = 1;
  }
  return out;
}

function stayIndicators(month: string, stays: readonly IndicatorStay[]): IndicatorValue[] {
  const out: IndicatorValue[] = [];
  const discharged = dischargedStays(month, stays);
  for (const [dimension, unitOf] of STAY_UNITS) {
    for (const [unit, list] of group(discharged, (d) => unitOf(d.stay))) {
      let ready = 0;
      let days = 0;
      let sip = 0;
      let held = 0;
      let old = 0;
      let back = 0;
      for (const d of list) {
        if (d.readyDays !== undefined) {
          ready++;
          days += d.readyDays;
        }
        if (d.sipHeld >= 0) {
          sip++;
          held += d.sipHeld;
        }
        if (d.readmitted >= 0) {
          old++;
          back += d.readmitted;
        }
      }
      const base = { month, dimension, unit, detail: '' };
      if (ready > 0)
        out.push({
          indicator: 'ready-days',
          ...base,
          value: r2(days / ready),
          numerator: days,
          denominator: ready,
        });
      if (sip > 0)
        out.push({
          indicator: 'sip-within-deadline',
          ...base,
          value: r2(held / sip),
          numerator: held,
          denominator: sip,
        });
      if (old > 0)
        out.push({
          indicator: 'readmission-30d-65plus',
          ...base,
          value: r2(back / old),
          numerator: back,
          denominator: old,
        });
    }
  }
  return out;
}

/** The steps of one party and Task code due in the month, as hours late (negative: early) once judged. */
interface StepGroup {
  unit: string;
  detail: string;
  lateness: number[];
}

function taskIndicators(month: string, tasks: readonly IndicatorTask[], now: string): IndicatorValue[] {
  const out: IndicatorValue[] = [];
  const nowMs = Date.parse(now);
  // Groups in the order their first due Task comes (owner, then code, looked up without building a key per Task).
  const groups: StepGroup[] = [];
  const byOwner = new Map<string, Map<string, StepGroup>>();
  for (const t of tasks) {
    if (!t.deadline || t.cancelled || t.code === 'avvikelse' || monthOf(t.deadline) !== month) continue;
    let byCode = byOwner.get(t.owner);
    if (!byCode) byOwner.set(t.owner, (byCode = new Map<string, StepGroup>()));
    let g = byCode.get(t.code);
    if (!g) {
      g = { unit: t.owner, detail: t.code, lateness: [] };
      byCode.set(t.code, g);
      groups.push(g);
    }
    // A step still open past its deadline counts as late by the time so far; one still open before it is not judged.
    const deadline = Date.parse(t.deadline);
    if (!t.completedAt && !(deadline < nowMs)) continue;
    g.lateness.push(((t.completedAt ? Date.parse(t.completedAt) : nowMs) - deadline) / 3_600_000);
  }
  for (const { unit, detail, lateness } of groups) {
    if (lateness.length === 0) continue;
    lateness.sort((a, b) => a - b);
    const met = lateness.filter((h) => h <= 0).length;
    const late = lateness.filter((h) => h > 0);
    const base = { month, dimension: 'party' as const, unit, detail, denominator: lateness.length };
    out.push({ ...base, indicator: 'step-timeliness', value: r2(met / lateness.length), numerator: met });
    out.push({ ...base, indicator: 'step-lateness-median', value: r2(quantile(late, 0.5)), denominator: late.length });
    out.push({ ...base, indicator: 'step-lateness-p90', value: r2(quantile(late, 0.9)), denominator: late.length });
  }
  return out;
}

/** The month's deviations (./deviations.ts says what one is and which month it counts in) per party and kind. */
function deviationIndicators(month: string, deviations: readonly Deviation[]): IndicatorValue[] {
  const out: IndicatorValue[] = [];
  const ofMonth = distinctDeviations(deviations).filter((d) => deviationMonth(d) === month);
  for (const [key, list] of group(ofMonth, (d) => `${d.responsible}\u0000${d.kind}`)) {
    const [unit = '', detail = ''] = key.split('\u0000');
    const n = list.length;
    out.push({
      indicator: 'deviations',
      month,
      dimension: 'party',
      unit,
      detail,
      value: n,
      denominator: n,
    });
  }
  return out;
}

/** Every indicator of the month. `now` judges steps still open (an input, not the clock). */
export function computeIndicators(input: {
  month: string;
  stays: readonly IndicatorStay[];
  tasks: readonly IndicatorTask[];
  /** The deviations that occurred in the month (others are left out). */
  deviations: readonly Deviation[];
  now: string;
}): IndicatorValue[] {
  return [
    ...stayIndicators(input.month, input.stays),
    ...taskIndicators(input.month, input.tasks, input.now),
    ...deviationIndicators(input.month, input.deviations),
  ];
}

/**
 * What the engine's state of a stay gives its indicator row (the patient and the SIP deadline come from elsewhere).
 * A stay whose admission was cancelled (A11) never happened: its row has no admission, ready notice, discharge or
 * SIP meeting, so it counts neither as a discharged stay nor as a re-admission of another stay.
 */
export function indicatorStayOf(st: StayState): IndicatorStay {
  const s: IndicatorStay = { stayId: st.stayId, sipNeeded: st.sipNeeded };
  if (st.placingMunicipality ?? st.municipality) s.municipality = st.placingMunicipality ?? st.municipality;
  if (st.hospital) s.hospital = st.hospital;
  if (st.primaryCareUnit) s.primaryCareUnit = st.primaryCareUnit;
  if (st.cancelledAt) return s;
  if (st.admittedAt) s.admittedAt = st.admittedAt;
  if (st.readyAt) s.readyAt = st.readyAt;
  if (st.dischargedAt) s.dischargedAt = st.dischargedAt;
  if (st.sipMeetingAt) s.sipMeetingAt = st.sipMeetingAt;
  return s;
}
