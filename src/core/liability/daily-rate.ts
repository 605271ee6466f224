import type { DailyRateTable } from './payment-model';
import { LiabilityInputError } from './stay';

/** The daily amount (vårdpris) used for a month, and where it comes from. */
export interface DailyRate {
  amount: number;
  source: string;
}

/** Amounts agreed between the parties, by year, overriding the national table; `source` says who agreed them. */
export interface AgreedRates {
  rates: Record<string, number>;
  source: string;
}

/**
 * The daily amount for a year: an agreed amount where the parties set one (the law's amount applies only where
 * they agreed no other, SFS 2017:612 5 kap. 6 §), else the national table. A year with neither fails clearly,
 * saying what is known about it (its regulation) and how to supply the amount.
 */
export function dailyRateFor(year: string, table: DailyRateTable, agreed?: AgreedRates): DailyRate {
  const own = agreed?.rates[year];
  if (own !== undefined) return { amount: own, source: agreed?.source ?? 'agreed amount' };
  const national = table.rates[year];
  if (national !== undefined) {
    return { amount: national, source: table.sources?.[year] ?? 'national daily-amount table' };
  }
  const known = Object.keys(table.rates).sort().join(', ');
  const note = table.unconfirmed?.[year];
  throw new LiabilityInputError(
    `no daily amount (vårdpris) for ${year}${note ? ` (${note})` : ''}: add it to agreements/rates/vardpris.json ` +
      `with its source, set the agreed amount in the agreement's payment.dailyRates, or pass --daily-amount ` +
      `(years known: ${known})`,
  );
}
