import type { DailyRateTable } from './payment-model';
import { LiabilityInputError } from './stay';

/** The daily amount for a year: the agreement's override, else the national table; a missing year fails clearly. */
export function dailyRateFor(year: string, table: DailyRateTable, overrides?: Record<string, number>): number {
  const rate = overrides?.[year] ?? table.rates[year];
  if (rate === undefined) {
    const known = Object.keys(table.rates).sort().join(', ');
    throw new LiabilityInputError(
      `no daily amount (vårdpris) for ${year}: add it to agreements/rates/vardpris.json (years known: ${known})`,
    );
  }
  return rate;
}
