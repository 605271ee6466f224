import { z } from 'zod';
import { sourceSchema } from '../agreements/agreement.schema';

/**
 * The `payment` block of an agreement: how a municipality's payment liability (betalningsansvar) for patients
 * who stay in inpatient care after being ready for discharge is computed. Three models cover the seeds:
 *
 * - `law`: SFS 2017:612 5 kap. 4 §, each stay on its own: liable after `freeDays` days counted from the ready
 *   notice (a notice sent after the cut-off counts from the next day).
 * - `average-retroactive` (Jönköping 003, Stockholm 2020): the month's average days per patient discharged
 *   that month; above `threshold` the municipality pays `(average − threshold) × patients` days, retroactively.
 *   Optionally long stays (`individual.aboveDays`) are billed individually beyond `individual.freeDays` and left
 *   out of the average.
 * - `average-next-month` (Västmanland 001 §7): when a month's average exceeds `threshold`, the municipality
 *   pays per individual from the next month, every month, until a whole month's average is at or below it.
 *
 * Every block and rule cites its source (`{document, section, note}`); docs/liability.md explains the fields.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM');

export const dayCountSchema = z
  .object({
    /**
     * `calendar-days`: discharge date − ready date in the agreement's time zone (the ready day is day 0);
     * `elapsed-24h`: whole 24-hour blocks between the ready and the discharge timestamps (0–24 h = day 0).
     */
    unit: z.enum(['calendar-days', 'elapsed-24h']),
    /** A ready notice sent after this local time counts from the next day (the law's 12.00 rule); null = none. */
    cutoff: hhmm.nullable(),
    timeZone: z.literal('Europe/Stockholm').default('Europe/Stockholm'),
    source: sourceSchema,
  })
  .strict()
  .refine((d) => d.unit === 'calendar-days' || d.cutoff === null, {
    message: 'a cut-off time only applies to calendar days',
    path: ['cutoff'],
  });

/** Preconditions (law and 003): a stay whose checked precondition fails is `not-liable` with the reason. */
export const preconditionsSchema = z
  .object({
    admissionNotice: z.boolean().default(true),
    estimatedDischargeDate: z.boolean().default(true),
    readyNotice: z.boolean().default(true),
    /** Where a SIP is to be held, the FVK must have sent the invitation. */
    sipInvitation: z.boolean().default(true),
    /** The discharge notice must have been sent (003); checked only when the stay says `dischargeNoticeSent`. */
    dischargeNotice: z.boolean().default(false),
    /** 5 kap. 5 §: no liability while region outpatient services are unavailable or unclear. */
    outpatientServicesAvailable: z.boolean().default(true),
    source: sourceSchema,
  })
  .strict();

/** Psychiatric inpatient care with its own free days, billed individually and left out of any average. */
export const psychiatricRuleSchema = z
  .object({
    /** First and last ready date (inclusive, local) the rule applies to; open when absent. */
    from: isoDate.optional(),
    until: isoDate.optional(),
    freeDays: z.number().int().min(0),
    source: sourceSchema,
  })
  .strict();

const common = {
  description: z.string().optional(),
  dayCount: dayCountSchema,
  preconditions: preconditionsSchema,
  psychiatric: z.array(psychiatricRuleSchema).default([]),
  /** Who pays: the placing municipality when there is one (5 kap. 2 §, 003), else the municipality of registration. */
  payer: z.literal('placing-else-registered').default('placing-else-registered'),
  /** First month the model applies (`YYYY-MM-DD`, a month start); earlier months are refused. */
  effectiveFrom: isoDate.optional(),
  /** Daily amounts by year that override the national vårdpris table (rarely needed). */
  dailyRates: z.record(z.string().regex(/^\d{4}$/), z.number().positive()).optional(),
  /** Who agreed `dailyRates` and where it is written (shown beside the amount on every report). */
  dailyRatesSource: z.string().min(1).optional(),
  source: sourceSchema,
};

export const lawModelSchema = z
  .object({
    model: z.literal('law'),
    /** Days after the ready notice before liability starts (law: 3). */
    freeDays: z.number().int().min(0),
    ...common,
  })
  .strict();

export const averageRetroactiveSchema = z
  .object({
    model: z.literal('average-retroactive'),
    /** The municipality pays when its monthly average exceeds this (Jönköping 2.0). */
    threshold: z.number().min(0),
    /** Round the average to this many decimals before billing (the seed's examples use one); null = exact. */
    averageDecimals: z.number().int().min(0).max(6).nullable().default(null),
    /** Stays counted above `aboveDays` days are billed individually beyond `freeDays` and left out of the average. */
    individual: z
      .object({ aboveDays: z.number().int().min(0), freeDays: z.number().int().min(0), source: sourceSchema })
      .strict()
      .nullable(),
    basis: z.literal('discharged-in-month').default('discharged-in-month'),
    ...common,
  })
  .strict();

export const averageNextMonthSchema = z
  .object({
    model: z.literal('average-next-month'),
    /** Liability starts the month after one whose average exceeds this; ends the month after one at or below. */
    threshold: z.number().min(0),
    /** In a liable month, each stay pays for its days beyond this. */
    individualFreeDays: z.number().int().min(0),
    basis: z.literal('discharged-in-month').default('discharged-in-month'),
    ...common,
  })
  .strict();

export const paymentModelSchema = z.discriminatedUnion('model', [
  lawModelSchema,
  averageRetroactiveSchema,
  averageNextMonthSchema,
]);

export type PaymentModel = z.infer<typeof paymentModelSchema>;
export type PaymentModelInput = z.input<typeof paymentModelSchema>;
export type DayCount = z.infer<typeof dayCountSchema>;
export type PsychiatricRule = z.infer<typeof psychiatricRuleSchema>;

/** The national daily amount (vårdpris) table: `{ "2019": 7800, … }` plus where it comes from. */
export const dailyRateTableSchema = z
  .object({
    description: z.string().optional(),
    currency: z.literal('SEK'),
    rates: z.record(z.string().regex(/^\d{4}$/), z.number().positive()),
    sources: z.record(z.string().regex(/^\d{4}$/), z.string()).optional(),
    /** Years whose amount is not confirmed by a source: what is known (the regulation), shown in the error. */
    unconfirmed: z.record(z.string().regex(/^\d{4}$/), z.string()).optional(),
  })
  .strict();
export type DailyRateTable = z.infer<typeof dailyRateTableSchema>;
