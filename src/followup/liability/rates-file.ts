import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dailyRateTableSchema, type DailyRateTable } from '../../core/liability/payment-model';
import { projectDir } from '../../platform/project-dir';

/** The national daily-amount (vårdpris) table shipped with the agreements. */
export const DEFAULT_RATES_FILE = path.join(projectDir('agreements', import.meta.url), 'rates', 'vardpris.json');

/** Reads and validates a daily-amount table (the shipped one by default). */
export async function loadRatesTable(file: string = DEFAULT_RATES_FILE): Promise<DailyRateTable> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`cannot read daily-rate table ${file}: ${(e as Error).message}`);
  }
  return dailyRateTableSchema.parse(json);
}
