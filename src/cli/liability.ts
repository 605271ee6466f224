/**
 * `npm run liability -- --agreement <id> --month <YYYY-MM> [--rates <file>] [--history <file>]
 *   [--daily-amount <SEK>] <stays.ndjson|->`
 * `npm run liability -- --agreement <id> --month <YYYY-MM> --from-store [--report] [--municipality NNNN]
 *   [--format json|csv] [--what-if <other agreement>]`: the same from the gateway's stored stays (DATABASE_URL, else PGlite in DATA_DIR), with
 *   each stay's facts and the corrections against the month's last report; `--report` records the result as reported.
 *
 * Payment liability from a file of stays (one JSON object a line; docs/liability.md), printed on stdout as one
 * JSON object per the contract: per municipality the billable days, the amount and each stay's contribution.
 * A malformed line is an error naming the line number (exit 2); other failures exit 1.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import { loadConfig } from '../config/config';
import { computeLiability, type MonthAverage } from '../core/liability/compute-liability';
import type { AgreedRates } from '../core/liability/daily-rate';
import { dailyRateTableSchema, paymentModelSchema } from '../core/liability/payment-model';
import { LiabilityInputError, parseStaysNdjson } from '../core/liability/stay';
import { DEFAULT_RATES_FILE } from '../followup/liability/rates-file';
import { showReport, type Printed } from './liability-output';
import { runFromStore } from './liability-store';
import { isMonth } from '../core/calendar/month';

export { DEFAULT_RATES_FILE };

const USAGE = [
  'usage: npm run liability -- --agreement <id> --month <YYYY-MM> [--rates <file>] [--history <file>] [--daily-amount <SEK>] <stays.ndjson|->',
  '       npm run liability -- --agreement <id> --month <YYYY-MM> --from-store [--report] [--municipality NNNN] [--format json|csv] [--what-if <id> [--deadlines]] [--daily-amount <SEK>] [--rates <file>]',
].join('\n');

interface Args {
  agreement: string;
  month: string;
  file: string;
  rates: string;
  history?: string;
  /** An amount per day the parties agreed for the month's year (overrides the national table). */
  dailyAmount?: number;
  /** Read the stays from the gateway's store (DATABASE_URL or DATA_DIR) instead of a file. */
  fromStore: boolean;
  /** With --from-store: record the result as the month's reported basis. */
  report: boolean;
  /** With --from-store: only this municipality's basis. */
  municipality?: string;
  format: 'json' | 'csv';
  /** With --from-store: bill the same stays under this agreement too and compare (what-if). */
  whatIf?: string;
  /** With --what-if: compare the deadlines met and missed (stays admitted in the month) instead of the liability. */
  deadlines: boolean;
}

const FLAGS = new Set(['from-store', 'report', 'deadlines']);
const OPTIONS = new Set([
  'agreement',
  'month',
  'rates',
  'history',
  'daily-amount',
  'municipality',
  'format',
  'what-if',
]);

class UsageError extends Error {}

export function parseArgs(argv: string[]): Args {
  const opts: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') continue;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (FLAGS.has(name)) {
        opts[name] = 'yes';
        continue;
      }
      if (!OPTIONS.has(name)) throw new UsageError(`unknown option --${name}`);
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      opts[name] = value;
    } else positional.push(a);
  }
  if (!opts.agreement) throw new UsageError('--agreement is required');
  if (!opts.month || !isMonth(opts.month)) {
    throw new UsageError('--month YYYY-MM is required');
  }
  const dailyAmount = opts['daily-amount'] === undefined ? undefined : Number(opts['daily-amount']);
  if (dailyAmount !== undefined && !(Number.isFinite(dailyAmount) && dailyAmount > 0)) {
    throw new UsageError('--daily-amount must be a positive number of SEK');
  }
  const fromStore = opts['from-store'] === 'yes';
  if (fromStore && positional.length > 0) throw new UsageError('--from-store reads no stays file');
  if (!fromStore && positional.length !== 1) {
    throw new UsageError('exactly one stays file (or - for stdin) is required, or --from-store');
  }
  if (!fromStore && (opts.report || opts.municipality || opts.format || opts['what-if'])) {
    throw new UsageError('--report, --municipality, --format and --what-if go with --from-store');
  }
  if (opts.deadlines && !opts['what-if']) throw new UsageError('--deadlines goes with --from-store --what-if <id>');
  if (opts.format && opts.format !== 'json' && opts.format !== 'csv') throw new UsageError('--format is json or csv');
  if (opts.municipality && !/^\d{4}$/.test(opts.municipality)) {
    throw new UsageError('--municipality must be a four-digit kommunkod');
  }
  return {
    agreement: opts.agreement,
    month: opts.month,
    file: positional[0] ?? '-',
    rates: opts.rates ?? DEFAULT_RATES_FILE,
    history: opts.history,
    dailyAmount,
    fromStore,
    report: opts.report === 'yes',
    municipality: opts.municipality,
    format: opts.format === 'csv' ? 'csv' : 'json',
    whatIf: opts['what-if'],
    deadlines: opts.deadlines === 'yes',
  };
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonFile(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** `--daily-amount` as an agreed amount for the month's year. */
export function agreedFromArgs(args: { month: string; dailyAmount?: number }): AgreedRates | undefined {
  if (args.dailyAmount === undefined) return undefined;
  return {
    rates: { [args.month.slice(0, 4)]: args.dailyAmount },
    source: 'given on the command line (--daily-amount): an amount the parties agreed',
  };
}

export async function runLiability(args: Args): Promise<Printed> {
  if (args.fromStore) return runFromStore(args, agreedFromArgs(args));
  const config = loadConfig();
  const agreements = await loadAgreements({ extraDir: config.AGREEMENTS_DIR });
  const agreement = getAgreement(agreements, args.agreement);
  const payment = paymentModelSchema.safeParse(agreement.payment);
  if (!payment.success) {
    throw new Error(`agreement ${args.agreement} has no valid payment block: ${payment.error.issues[0]?.message}`);
  }
  const rates = dailyRateTableSchema.parse(await readJsonFile(args.rates, 'daily-rate table'));
  const history = args.history ? ((await readJsonFile(args.history, 'history')) as MonthAverage[]) : undefined;
  const stays = parseStaysNdjson(await readInput(args.file));
  const report = computeLiability({
    agreement: args.agreement,
    month: args.month,
    payment: payment.data,
    stays,
    rates,
    history,
    agreedRates: agreedFromArgs(args),
    missingRate: 'days-only',
  });
  const text = showReport(report);
  return report.dailyRateMissing ? { text, missing: report.dailyRateMissing } : { text };
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`liability: ${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  try {
    const out = await runLiability(args);
    process.stdout.write(`${out.text}\n`);
    if (out.missing) process.stderr.write(`liability: days only, amounts are null: ${out.missing}\n`);
    return 0;
  } catch (e) {
    const input = e instanceof LiabilityInputError;
    process.stderr.write(`liability: ${(e as Error).message}\n`);
    return input ? 2 : 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
