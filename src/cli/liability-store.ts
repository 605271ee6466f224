import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import { deadlineWhatIf } from '../followup/what-if/deadline-what-if.pg';
import { loadConfig } from '../config/config';
import type { AgreedRates } from '../core/liability/daily-rate';
import { invoiceCsv } from '../followup/liability/invoice-csv';
import { loadRatesTable } from '../followup/liability/rates-file';
import { liabilityFromStore, reportLiability, whatIfFromStore } from '../followup/liability/store-liability';
import { openDb } from '../store/open-db';
import { showReport, type Printed } from './liability-output';

/** `npm run liability -- --from-store`: the month from the gateway's own database (the server's settings). */
export async function runFromStore(
  args: {
    agreement: string;
    month: string;
    rates: string;
    report: boolean;
    municipality?: string;
    format: 'json' | 'csv';
    whatIf?: string;
    deadlines?: boolean;
  },
  agreedRates: AgreedRates | undefined,
): Promise<Printed> {
  const config = loadConfig();
  const agreements = await loadAgreements({ extraDir: config.AGREEMENTS_DIR });
  const rates = await loadRatesTable(args.rates);
  const db = await openDb({
    databaseUrl: config.DATABASE_URL,
    preparedStatements: config.PG_PREPARED_STATEMENTS,
    jit: config.PG_JIT,
    dataDir: config.DATA_DIR,
  });
  try {
    const deps = { db, agreements, rates };
    const q = { agreement: args.agreement, month: args.month, agreedRates, missingRate: 'days-only' as const };
    if (args.whatIf && args.deadlines) {
      const base = getAgreement(agreements, args.agreement);
      const alt = getAgreement(agreements, args.whatIf);
      return { text: JSON.stringify(await deadlineWhatIf(db, base, alt, args.month, new Date()), null, 2) };
    }
    if (args.whatIf) {
      return { text: JSON.stringify(await whatIfFromStore(deps, { ...q, alternative: args.whatIf }), null, 2) };
    }
    const result = args.report
      ? await reportLiability(deps, q, 'cli')
      : await liabilityFromStore(deps, args.municipality ? { ...q, municipality: args.municipality } : q);
    const text = args.format === 'csv' ? invoiceCsv(result).trimEnd() : showReport(result);
    return result.dailyRateMissing ? { text, missing: result.dailyRateMissing } : { text };
  } finally {
    await db.close();
  }
}
