/**
 * Payment liability per municipality and month from a list of stays (pure). Each stay's contribution is
 * traceable: its counted days, its billable days, the basis (average / individual / not-liable) and a reason.
 * Stays count in the month of their discharge (local time); stays not yet discharged are not in any month.
 */
import { dailyRateFor, type AgreedRates } from './daily-rate';
import { countDays, localMonth, localParts, previousMonth } from './day-count';
import type { DailyRateTable, PaymentModel } from './payment-model';
import { LiabilityInputError, type StayInput } from './stay';
import { isMonth } from '../calendar/month';

export type LiabilityBasis = 'average' | 'individual' | 'not-liable';

export interface StayLiability {
  id: string;
  /** Days counted after the ready notice (the agreement's day convention). */
  days: number;
  billableDays: number;
  basis: LiabilityBasis;
  reason: string;
  /** Every ready period of the stay with its days, when there was more than one (withdrawals, 'avbrott'). */
  periods?: ReadyPeriod[];
}

/** One ready period: from a ready notice to the withdrawal of the ready status or to the discharge. */
export interface ReadyPeriod {
  readyAt: string;
  endedAt: string;
  endedBy: 'withdrawn' | 'discharged';
  days: number;
}

export interface MunicipalityLiability {
  municipality: string;
  /** Billable days (may be fractional under an average model). */
  days: number;
  /** SEK, rounded to öre. */
  amount: number;
  /** Stays discharged in the month that this municipality pays for (or would). */
  patients: number;
  /** Average model: the month's average over the stays in the average, and how many they were. */
  average?: { value: number; patients: number; threshold: number };
  /** Next-month model: whether individual liability applies this month, and why. */
  liableThisMonth?: { liable: boolean; reason: string };
  stays: StayLiability[];
}

export interface LiabilityReport {
  agreement: string;
  month: string;
  model: PaymentModel['model'];
  dailyRate: number;
  /** Where the daily amount comes from (the regulation, or the parties' agreement). */
  dailyRateSource: string;
  /**
   * Set only when the input asked for `missingRate: 'days-only'` and the year has no amount: why. The days are
   * the invoice basis; `dailyRate` and every `amount` are then 0 and must not be read as SEK.
   */
  dailyRateMissing?: string;
  currency: 'SEK';
  municipalities: MunicipalityLiability[];
}

/** An earlier month's average for a municipality, when its stays are not in the input. */
export interface MonthAverage {
  municipality: string;
  month: string;
  average: number;
  patients: number;
}

export interface LiabilityInput {
  agreement: string;
  /** `YYYY-MM` */
  month: string;
  payment: PaymentModel;
  stays: readonly StayInput[];
  rates: DailyRateTable;
  /** Amounts the parties agreed beyond the agreement file (e.g. given on the command line). */
  agreedRates?: AgreedRates;
  /** Next-month model only: averages of earlier months not covered by `stays`. */
  history?: readonly MonthAverage[];
  /**
   * A year with no amount (neither agreed nor national): `fail` (default) throws the clear error; `days-only`
   * still computes the days per stay and municipality and says in `dailyRateMissing` why there is no amount.
   */
  missingRate?: 'fail' | 'days-only';
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const r4 = (x: number): number => round(x, 4);

type Periods = { periods?: ReadyPeriod[] };
type Classified =
  | ({ kind: 'not-liable'; id: string; days: number; reason: string } & Periods)
  | ({ kind: 'psychiatric'; id: string; days: number; freeDays: number; reason: string } & Periods)
  | ({ kind: 'counted'; id: string; days: number } & Periods);

/**
 * Every ready period of a stay, in order: the withdrawn ones, then the last (ready → discharge). Undefined when
 * there is only the one period, so single-period stays read exactly as before.
 */
function readyPeriods(s: StayInput, p: PaymentModel): ReadyPeriod[] | undefined {
  const withdrawn = s.withdrawnReadyPeriods ?? [];
  if (withdrawn.length === 0) return undefined;
  const out: ReadyPeriod[] = withdrawn.map((w) => ({
    readyAt: w.readyAt,
    endedAt: w.withdrawnAt,
    endedBy: 'withdrawn',
    days: countDays(w.readyAt, w.withdrawnAt, p.dayCount),
  }));
  if (s.readyAt && s.dischargedAt) {
    out.push({
      readyAt: s.readyAt,
      endedAt: s.dischargedAt,
      endedBy: 'discharged',
      days: countDays(s.readyAt, s.dischargedAt, p.dayCount),
    });
  }
  return out;
}

function failedPrecondition(s: StayInput, p: PaymentModel): string | undefined {
  const pre = p.preconditions;
  if (s.category === 'B') return 'category B (needs only region outpatient care, 002): the municipality is not liable';
  if (s.inTargetGroup === false) return "outside the agreement's target group: not liable";
  if (!s.readyAt && !s.withdrawnReadyPeriods?.length) return 'no ready-for-discharge time';
  if (pre.admissionNotice && !s.admissionNoticeSent) return 'precondition: admission notice was not sent';
  if (pre.estimatedDischargeDate && !s.estimatedDischargeDateSent) {
    return 'precondition: estimated discharge date was not sent';
  }
  if (pre.readyNotice && !s.readyNoticeSent) return 'precondition: ready-for-discharge notice was not sent';
  if (pre.sipInvitation && s.sipRequired && !s.sipInvitationSent) {
    return 'precondition: a SIP applies but the named care contact did not send the invitation';
  }
  if (pre.dischargeNotice && s.dischargeNoticeSent === false) return 'precondition: discharge notice was not sent';
  if (pre.outpatientServicesAvailable && s.outpatientServicesUnavailable === true) {
    return 'SFS 2017:612 5 kap. 5 §: region outpatient services were unavailable or unclear';
  }
  return undefined;
}

function classify(s: StayInput, p: PaymentModel): Classified {
  const failed = failedPrecondition(s, p);
  const periods = readyPeriods(s, p);
  const days = periods
    ? periods.reduce((a, x) => a + x.days, 0)
    : s.readyAt && s.dischargedAt
      ? countDays(s.readyAt, s.dischargedAt, p.dayCount)
      : 0;
  const withPeriods = <T extends object>(c: T): T & Periods => (periods ? { ...c, periods } : c);
  if (failed) return withPeriods({ kind: 'not-liable', id: s.id, days, reason: failed });
  const firstReady = s.withdrawnReadyPeriods?.[0]?.readyAt ?? s.readyAt;
  if (s.care === 'psychiatric' && firstReady) {
    const readyDate = localParts(firstReady, p.dayCount.timeZone).date;
    const rule = p.psychiatric.find((r) => (!r.from || readyDate >= r.from) && (!r.until || readyDate <= r.until));
    if (rule) {
      const when = rule.until ? ` (ready until ${rule.until})` : '';
      return withPeriods({
        kind: 'psychiatric',
        id: s.id,
        days,
        freeDays: rule.freeDays,
        reason: `psychiatric inpatient care${when}: liable beyond ${rule.freeDays} days (${rule.source.document} ${rule.source.section})`,
      });
    }
  }
  return withPeriods({ kind: 'counted', id: s.id, days });
}

/**
 * Billed individually beyond `freeDays`. With several ready periods each is billed on its own: a withdrawal
 * (avbrott) stops the clock and a new ready notice starts it again with its own free days.
 */
function individual(c: { id: string; days: number } & Periods, freeDays: number, why: string): StayLiability {
  if (c.periods) {
    const billable = c.periods.reduce((a, x) => a + Math.max(0, x.days - freeDays), 0);
    const terms = c.periods.map((x) => `max(0, ${x.days} − ${freeDays})`).join(' + ');
    return {
      id: c.id,
      days: c.days,
      billableDays: billable,
      basis: 'individual',
      reason: `${why}: ${terms} days over ${c.periods.length} ready periods (a withdrawal ends one, a new ready notice starts the next)`,
    };
  }
  const billable = Math.max(0, c.days - freeDays);
  return {
    id: c.id,
    days: c.days,
    billableDays: billable,
    basis: 'individual',
    reason: `${why}: ${c.days} − ${freeDays} days`,
  };
}

function payerOf(s: StayInput): string {
  return s.placingMunicipality ?? s.municipality;
}

/** Group discharged stays by payer and local discharge month. */
function group(stays: readonly StayInput[], p: PaymentModel): Map<string, Map<string, StayInput[]>> {
  const out = new Map<string, Map<string, StayInput[]>>();
  for (const s of stays) {
    if (!s.dischargedAt) continue;
    const month = localMonth(s.dischargedAt, p.dayCount.timeZone);
    const payer = payerOf(s);
    let byMonth = out.get(payer);
    if (!byMonth) out.set(payer, (byMonth = new Map<string, StayInput[]>()));
    const list = byMonth.get(month);
    if (list) list.push(s);
    else byMonth.set(month, [s]);
  }
  return out;
}

function averageOf(days: number[], decimals: number | null): number {
  if (days.length === 0) return 0;
  const sum = days.reduce((a, b) => a + b, 0);
  return decimals === null ? sum / days.length : round(sum / days.length, decimals);
}

function lawMonth(cs: Classified[], p: Extract<PaymentModel, { model: 'law' }>): StayLiability[] {
  const why = `SFS 2017:612 5 kap. 4 §: liable after ${p.freeDays} days${p.dayCount.cutoff ? ` (notice after ${p.dayCount.cutoff} counts from the next day)` : ''}`;
  return cs.map((c) => {
    if (c.kind === 'not-liable')
      return { id: c.id, days: c.days, billableDays: 0, basis: 'not-liable', reason: c.reason };
    if (c.kind === 'psychiatric') return individual(c, c.freeDays, c.reason);
    return individual(c, p.freeDays, why);
  });
}

function retroactiveMonth(
  cs: Classified[],
  p: Extract<PaymentModel, { model: 'average-retroactive' }>,
): { stays: StayLiability[]; average: MunicipalityLiability['average']; averageDays: number } {
  const ind = p.individual;
  const pool = cs.filter(
    (c): c is Extract<Classified, { kind: 'counted' }> => c.kind === 'counted' && !(ind && c.days > ind.aboveDays),
  );
  const avg = averageOf(
    pool.map((c) => c.days),
    p.averageDecimals,
  );
  const excess = pool.length > 0 && avg > p.threshold ? avg - p.threshold : 0;
  const sum = pool.reduce((a, c) => a + c.days, 0);
  const rounded = p.averageDecimals !== null && r4(sum / Math.max(1, pool.length)) !== avg;
  const avgText = `average ${r4(avg)} (${sum} days / ${pool.length} stays${rounded ? `, rounded to ${p.averageDecimals} decimal(s)` : ''})`;
  const stays = cs.map((c): StayLiability => {
    if (c.kind === 'not-liable')
      return { id: c.id, days: c.days, billableDays: 0, basis: 'not-liable', reason: c.reason };
    if (c.kind === 'psychiatric') return individual(c, c.freeDays, c.reason);
    if (ind && c.days > ind.aboveDays) {
      return individual(
        c,
        ind.freeDays,
        `more than ${ind.aboveDays} days: billed individually, left out of the average`,
      );
    }
    return {
      id: c.id,
      days: c.days,
      billableDays: r4(excess),
      basis: 'average',
      reason:
        excess > 0
          ? `${avgText} > ${p.threshold}: (${r4(avg)} − ${p.threshold}) days for each stay, retroactively`
          : `${avgText} ≤ ${p.threshold}: nothing billed on the average`,
    };
  });
  // The month's total on the average, computed once (not as a sum of rounded shares).
  const averageDays =
    excess === 0 ? 0 : p.averageDecimals === null ? sum - p.threshold * pool.length : excess * pool.length;
  return {
    stays,
    average: { value: r4(avg), patients: pool.length, threshold: p.threshold },
    averageDays: r4(averageDays),
  };
}

function nextMonthState(
  byMonth: Map<string, StayInput[]> | undefined,
  history: readonly MonthAverage[],
  municipality: string,
  month: string,
  p: Extract<PaymentModel, { model: 'average-next-month' }>,
): { liable: boolean; reason: string } {
  const averages = new Map<string, number>();
  for (const h of history) if (h.municipality === municipality && h.month < month) averages.set(h.month, h.average);
  for (const [m, stays] of byMonth ?? []) {
    if (m >= month) continue;
    const counted = stays.map((s) => classify(s, p)).filter((c) => c.kind === 'counted');
    if (counted.length > 0)
      averages.set(
        m,
        averageOf(
          counted.map((c) => c.days),
          null,
        ),
      );
  }
  const prev = previousMonth(month);
  const months = [...averages.keys()].sort();
  if (months.length === 0) {
    return { liable: false, reason: `no data for ${prev} or earlier: liability cannot have started` };
  }
  let liable = false;
  let decidedBy = '';
  for (const m of months) {
    const a = averages.get(m) ?? 0;
    liable = a > p.threshold;
    decidedBy = `${m} average ${r4(a)} ${liable ? '>' : '≤'} ${p.threshold}`;
  }
  const gap = months[months.length - 1] !== prev ? ` (no stays discharged in ${prev}: the state carries on)` : '';
  return {
    liable,
    reason: `${decidedBy}: ${liable ? 'individual liability this month' : 'no liability this month'}${gap}`,
  };
}

/**
 * What a discharged stay adds to its payer's monthly average under the next-month model, or undefined when it is
 * not in the average (not discharged, not liable, psychiatric). Summed per payer and month, these give the
 * `history` a later month needs without the earlier stays themselves (the same classification as the month's own).
 */
export function averageTerm(s: StayInput, p: PaymentModel): { payer: string; month: string; days: number } | undefined {
  if (!s.dischargedAt) return undefined;
  const c = classify(s, p);
  if (c.kind !== 'counted') return undefined;
  return { payer: payerOf(s), month: localMonth(s.dischargedAt, p.dayCount.timeZone), days: c.days };
}

export function computeLiability(input: LiabilityInput): LiabilityReport {
  const { payment: p, month } = input;
  if (!isMonth(month)) throw new LiabilityInputError(`month "${month}" is not YYYY-MM`);
  if (p.effectiveFrom && `${month}-01` < p.effectiveFrom) {
    throw new LiabilityInputError(
      `the ${input.agreement} payment model applies from ${p.effectiveFrom}; use the law's model (agreement "lag") for ${month}`,
    );
  }
  const year = month.slice(0, 4);
  const fromFile: AgreedRates | undefined = p.dailyRates
    ? {
        rates: p.dailyRates,
        source: `agreement ${input.agreement}: payment.dailyRates${p.dailyRatesSource ? ` (${p.dailyRatesSource})` : ''}`,
      }
    : undefined;
  const agreed = input.agreedRates?.rates[year] !== undefined ? input.agreedRates : fromFile;
  const rate = rateOrMissing(year, input, agreed);
  const dailyRate = rate.amount;
  const grouped = group(input.stays, p);
  const municipalities: MunicipalityLiability[] = [];
  for (const [municipality, byMonth] of [...grouped].sort(([a], [b]) => a.localeCompare(b))) {
    const stays = byMonth.get(month);
    if (!stays) continue;
    const cs = stays.map((s) => classify(s, p));
    const result: MunicipalityLiability = { municipality, days: 0, amount: 0, patients: stays.length, stays: [] };
    let days: number | undefined;
    if (p.model === 'law') {
      result.stays = lawMonth(cs, p);
    } else if (p.model === 'average-retroactive') {
      const r = retroactiveMonth(cs, p);
      result.stays = r.stays;
      result.average = r.average;
      const individualDays = r.stays.filter((x) => x.basis === 'individual').reduce((a, x) => a + x.billableDays, 0);
      days = r4(individualDays + r.averageDays);
    } else {
      const state = nextMonthState(byMonth, input.history ?? [], municipality, month, p);
      result.liableThisMonth = state;
      const counted = cs.filter((c) => c.kind === 'counted');
      result.average = {
        value: r4(
          averageOf(
            counted.map((c) => c.days),
            null,
          ),
        ),
        patients: counted.length,
        threshold: p.threshold,
      };
      result.stays = cs.map((c): StayLiability => {
        if (c.kind === 'not-liable')
          return { id: c.id, days: c.days, billableDays: 0, basis: 'not-liable', reason: c.reason };
        if (c.kind === 'psychiatric') return individual(c, c.freeDays, c.reason);
        if (state.liable) return individual(c, p.individualFreeDays, state.reason);
        return { id: c.id, days: c.days, billableDays: 0, basis: 'average', reason: state.reason };
      });
    }
    result.stays = result.stays.map((x, i) => {
      const periods = cs[i]?.periods;
      return periods ? { ...x, periods } : x;
    });
    days ??= r4(result.stays.reduce((a, x) => a + x.billableDays, 0));
    result.days = days;
    result.amount = round(days * dailyRate, 2);
    municipalities.push(result);
  }
  return {
    agreement: input.agreement,
    month,
    model: p.model,
    dailyRate,
    dailyRateSource: rate.source,
    ...(rate.missing ? { dailyRateMissing: rate.missing } : {}),
    currency: 'SEK',
    municipalities,
  };
}

function rateOrMissing(
  year: string,
  input: LiabilityInput,
  agreed: AgreedRates | undefined,
): { amount: number; source: string; missing?: string } {
  try {
    return dailyRateFor(year, input.rates, agreed);
  } catch (e) {
    if (input.missingRate !== 'days-only' || !(e instanceof LiabilityInputError)) throw e;
    return { amount: 0, source: 'none', missing: e.message };
  }
}
