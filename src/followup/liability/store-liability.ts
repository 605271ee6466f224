/**
 * Payment liability computed from the gateway's own stays (not a hand-made file): the stays are read from the
 * store, folded by the engine, billed by the same pure computation as the file mode, and compared with the
 * month's latest report so late facts show as corrections.
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import {
  computeLiability,
  type LiabilityReport,
  type MonthAverage,
  type StayLiability,
} from '../../core/liability/compute-liability';
import { basisOf, corrections, type Correction } from '../../core/liability/corrections';
import { compareLiability, type WhatIf } from '../../core/liability/what-if';
import type { AgreedRates } from '../../core/liability/daily-rate';
import { localMonth } from '../../core/liability/day-count';
import type { FactTrace, StoredStay } from '../../core/liability/from-facts';
import { paymentModelSchema, type DailyRateTable } from '../../core/liability/payment-model';
import { LiabilityInputError, type StayInput } from '../../core/liability/stay';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { latestReport, saveReport, type StoredReport } from './liability-report.pg';
import { storedMonths } from './liability-months.pg';
import { indexStays, type StayIndex } from '../stays/stay-index.pg';
import type { FoldStats } from '../stays/stay-folds.pg';

export interface StoreLiabilityDeps {
  db: Db;
  agreements: ReadonlyMap<string, Agreement>;
  rates: DailyRateTable;
}

export interface StoreLiabilityQuery {
  agreement: string;
  month: string;
  /** Only this municipality's invoice basis (the payer's kommunkod). */
  municipality?: string;
  agreedRates?: AgreedRates;
  /** A year with no amount: fail (default) or give the days alone with the reason (see computeLiability). */
  missingRate?: 'fail' | 'days-only';
}

/** A stay's contribution with the facts it was computed from. */
export type TracedStay = StayLiability & { facts: FactTrace[] };

export interface StoreLiability extends Omit<LiabilityReport, 'municipalities'> {
  source: 'store';
  /** Each paying municipality with its `name` (the directory's; SCB's with the code for one it does not hold). */
  municipalities: (Omit<LiabilityReport['municipalities'][number], 'stays'> & { name: string; stays: TracedStay[] })[];
  /** Stays discharged in the month that cannot be billed at all (no municipality known, admission cancelled). */
  excluded: { id: string; reason: string; facts: FactTrace[] }[];
  /** The month's latest report, when one was made, and the difference to it. */
  reported?: Omit<StoredReport, 'basis'>;
  corrections: Correction[];
}

export class UnknownAgreementError extends LiabilityInputError {}

export function paymentOf(agreement: Agreement) {
  const p = paymentModelSchema.safeParse(agreement.payment);
  if (!p.success) {
    throw new LiabilityInputError(
      `agreement ${agreement.id} has no valid payment block: ${p.error.issues[0]?.message}`,
    );
  }
  return p.data;
}

export function agreementOf(deps: StoreLiabilityDeps, id: string): Agreement {
  const agreement = deps.agreements.get(id);
  if (!agreement) {
    const known = [...deps.agreements.keys()].sort().join(', ');
    throw new UnknownAgreementError(`no agreement "${id}" (known: ${known})`);
  }
  return agreement;
}

/**
 * The reports of consecutive months from the store, one at a time, each as `liabilityFromStore` gives it, reading
 * each stay once per run (`index`: the stays of these months when already found, e.g. shared with the indicators).
 */
export async function* liabilityMonths(
  deps: StoreLiabilityDeps,
  q: Omit<StoreLiabilityQuery, 'month'> & { months: readonly string[] },
  index?: StayIndex,
  stats?: FoldStats,
): AsyncGenerator<StoreLiability> {
  const agreement = agreementOf(deps, q.agreement);
  const payment = paymentOf(agreement);
  const idx = index ?? (await indexStays(deps.db, q.months));
  if (idx.months.join() !== q.months.join()) throw new Error('the stay index is for other months');
  const { months: _m, ...rest } = q;
  for await (const m of storedMonths(deps.db, agreement, payment, idx, stats)) {
    yield await liabilityOfMonth(deps, { ...rest, month: m.month }, m.stored, m.history);
  }
}

/** The month from the store (one month of `liabilityMonths`). */
export async function liabilityFromStore(deps: StoreLiabilityDeps, q: StoreLiabilityQuery): Promise<StoreLiability> {
  const { month, ...rest } = q;
  for await (const one of liabilityMonths(deps, { ...rest, months: [month] })) return one;
  throw new LiabilityInputError(`no report for ${month}`);
}

/**
 * One month's report from its stored stays (already folded, with their extras): bills the stays discharged in the
 * month (`history`: the next-month model's earlier months' averages), lists those that cannot be billed, and
 * compares with the month's latest report.
 */
export async function liabilityOfMonth(
  deps: StoreLiabilityDeps,
  q: StoreLiabilityQuery,
  stored: readonly StoredStay[],
  history?: readonly MonthAverage[],
): Promise<StoreLiability> {
  const payment = paymentOf(agreementOf(deps, q.agreement));
  const tz = payment.dayCount.timeZone;
  const stays: StayInput[] = [];
  const trace = new Map<string, FactTrace[]>();
  const excluded: StoreLiability['excluded'] = [];
  for (const s of stored) {
    if ('stay' in s) {
      if (s.stay.dischargedAt && localMonth(s.stay.dischargedAt, tz) === q.month) {
        stays.push(s.stay);
        trace.set(s.stay.id, s.facts);
      }
      continue;
    }
    const discharged = s.facts.filter((f) => f.kind === 'discharged').at(-1);
    if (discharged && localMonth(discharged.at, tz) === q.month) {
      excluded.push({ id: s.stayId, reason: s.excluded, facts: s.facts });
    }
  }
  const report = computeLiability({
    agreement: q.agreement,
    month: q.month,
    payment,
    stays,
    rates: deps.rates,
    agreedRates: q.agreedRates,
    missingRate: q.missingRate,
    ...(history ? { history } : {}),
  });
  const last = await latestReport(deps.db, q.agreement, q.month);
  const keep = (code: string) => q.municipality === undefined || q.municipality === code;
  const all = corrections(last?.basis ?? [], basisOf(report));
  const name = await organisationNames(deps.db);
  const out: StoreLiability = {
    ...report,
    source: 'store',
    municipalities: report.municipalities
      .filter((m) => keep(m.municipality))
      .map((m) => ({
        ...m,
        name: name(m.municipality),
        stays: m.stays.map((s) => ({ ...s, facts: trace.get(s.id) ?? [] })),
      })),
    excluded,
    corrections: last ? all.filter((c) => keep(c.municipality)) : [],
  };
  if (last)
    out.reported = {
      seq: last.seq,
      reportedAt: last.reportedAt,
      reportedBy: last.reportedBy,
      dailyRate: last.dailyRate,
    };
  return out;
}

/** Computes the month from the store and records it as reported (the basis an invoice was made from). */
export async function reportLiability(
  deps: StoreLiabilityDeps,
  q: Omit<StoreLiabilityQuery, 'municipality'>,
  reportedBy?: string,
): Promise<StoreLiability> {
  const current = await liabilityFromStore(deps, { ...q, missingRate: 'fail' });
  const saved = await saveReport(deps.db, {
    agreement: q.agreement,
    month: q.month,
    reportedBy,
    dailyRate: current.dailyRate,
    basis: current.municipalities.map((m) => ({
      municipality: m.municipality,
      days: m.days,
      amount: m.amount,
      stays: m.stays.map((s) => ({ id: s.id, billableDays: s.billableDays })),
    })),
  });
  const { basis: _b, ...meta } = saved;
  return { ...current, reported: meta, corrections: [] };
}

/** The month's stored stays billed under the region's agreement and under another one (what-if), side by side. */
export async function whatIfFromStore(
  deps: StoreLiabilityDeps,
  q: { month: string; agreement: string; alternative: string; agreedRates?: AgreedRates },
): Promise<WhatIf> {
  const base = await liabilityFromStore(deps, { agreement: q.agreement, month: q.month, agreedRates: q.agreedRates });
  const alt = await liabilityFromStore(deps, { agreement: q.alternative, month: q.month, agreedRates: q.agreedRates });
  return compareLiability(base, alt);
}
