/**
 * A national year on PostgreSQL (issue 15): the indicators of every month and the payment liability of every month
 * under one agreement of each payment model (lag: law, jonkoping: average-retroactive, vastmanland:
 * average-next-month), from a synthetic year of stays written in bulk (bench/support/national-fill.ts). Two runs:
 * cold (the fold cache `stay_fold` emptied first: every stay folded by the engine and cached) and warm (the cache
 * filled: the usual case, a stay is folded again only when its facts changed). Time per part, peak RSS, load.
 *   BENCH_NATIONAL_STAYS=1380000 npx tsx bench/national-year.bench.ts     (default 50 000 stays)
 *   BENCH_NATIONAL_MUNICIPALITIES=26 BENCH_NATIONAL_STAYS=320000 BENCH_NATIONAL_FILL_ONLY=1: a region-year (Region
 *   Stockholm: 26 municipalities, ≈ 13 stays per 100 inhabitants a year) for bench/dashboard.bench.ts
 *   The heap is limited to 800 MB (BENCH_NATIONAL_HEAP_MB; 0 for none) unless NODE_OPTIONS sets a limit.
 *   NATIONAL_DATABASE_URL (default postgres://svu:svu@127.0.0.1:5432/svu_national); the database must exist; it is
 *   filled when it does not hold the asked number of stays (BENCH_NATIONAL_REFILL=1 always refills).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { getAgreement, loadAgreements } from '../src/agreements/load-agreements';
import { dailyRateTableSchema } from '../src/core/liability/payment-model';
import { indicatorMonths } from '../src/followup/indicators/indicator-months.pg';
import { liabilityMonths } from '../src/followup/liability/store-liability';
import type { FoldStats } from '../src/followup/stays/stay-folds.pg';
import { indexStays } from '../src/followup/stays/stay-index.pg';
import { openPostgres } from '../src/store/db.pg';
import { migrate } from '../src/store/migrate';
import { fillNationalYear } from './support/national-fill';

// The heap limit the target is judged with (docs/followup.md): unless NODE_OPTIONS sets one, the bench runs itself
// again with --max-old-space-size=BENCH_NATIONAL_HEAP_MB (default 800; 0: V8's own, sized by the machine's memory).
const HEAP_MB = Number(process.env.BENCH_NATIONAL_HEAP_MB ?? 800);
if (HEAP_MB > 0 && !/max-old-space-size/.test(process.env.NODE_OPTIONS ?? '')) {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_MB}`.trim() },
    },
  );
  process.exit(r.status ?? 1);
}

const STAYS = Number(process.env.BENCH_NATIONAL_STAYS ?? (process.env.BENCH_QUICK === '1' ? 10_000 : 50_000));
/** 290 for the nation; a region's year for the dashboard bench: e.g. 26 (Region Stockholm's municipalities). */
const MUNICIPALITIES = Number(process.env.BENCH_NATIONAL_MUNICIPALITIES ?? 290);
const URL_ = process.env.NATIONAL_DATABASE_URL ?? 'postgres://svu:svu@127.0.0.1:5432/svu_national';
const YEAR = 2023;
const MONTHS = Array.from({ length: 12 }, (_, i) => `${YEAR}-${String(i + 1).padStart(2, '0')}`);
const INDICATOR_AGREEMENT = 'vastmanland';
const LIABILITY_AGREEMENTS = (process.env.BENCH_NATIONAL_AGREEMENTS ?? 'lag,jonkoping,vastmanland').split(',');

const mb = (b: number): number => Math.round(b / 1048576);
const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 100);

// PG_PREPARED_STATEMENTS=false compares with unnamed statements (ADR 032), PG_JIT=true with the server's JIT, as the
// gateway's settings do.
const db = openPostgres(URL_, {
  max: 4,
  preparedStatements: process.env.PG_PREPARED_STATEMENTS !== 'false',
  jit: process.env.PG_JIT === 'true',
});
await migrate(db);
const have = Number((await db.query<{ n: string }>('SELECT count(DISTINCT stay_id) AS n FROM stay_fact')).rows[0]?.n);
let fill: Awaited<ReturnType<typeof fillNationalYear>> | undefined;
if (have !== STAYS || process.env.BENCH_NATIONAL_REFILL === '1') {
  console.log(`filling ${STAYS} stays (the database had ${have}); load ${load().join(' ')}`);
  await db.query(
    'TRUNCATE stay_fact, stay_summary, stay_fold, fhir_resource, fhir_resource_history, fhir_search, deadline_task, deadline_step, liability_report',
  );
  fill = await fillNationalYear(db, STAYS, YEAR, (s) => console.log(s), MUNICIPALITIES);
  console.log(`filled in ${Math.round(fill.ms / 1000)} s: ${fill.facts} facts, ${fill.tasks} Tasks, ${fill.sizeMb} MB`);
}
if (process.env.BENCH_NATIONAL_FILL_ONLY === '1') {
  await db.close();
  process.exit(0);
}
const counts = (
  await db.query<{ facts: string; tasks: string; size: string }>(
    `SELECT (SELECT count(*) FROM stay_fact) AS facts, (SELECT count(*) FROM deadline_task) AS tasks,
     pg_database_size(current_database()) AS size`,
  )
).rows[0];

const agreements = await loadAgreements();
const rates = dailyRateTableSchema.parse(
  JSON.parse(readFileSync(new URL('../agreements/rates/vardpris.json', import.meta.url), 'utf8')),
);
const deps = { db, agreements, rates };

interface Part {
  part: string;
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
  folded?: number;
  cached?: number;
  check?: Record<string, number>;
}

async function part(
  name: string,
  fn: (stats: FoldStats) => Promise<Record<string, number> | undefined>,
): Promise<Part> {
  const loadBefore = load();
  const stats: FoldStats = { cached: 0, folded: 0 };
  const t0 = performance.now();
  const check = await fn(stats);
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const p: Part = { part: name, seconds, loadBefore, loadAfter: load(), folded: stats.folded, cached: stats.cached };
  if (check) p.check = check;
  console.log(
    `  ${name}: ${seconds} s (folded ${stats.folded}, cached ${stats.cached}; load ${p.loadAfter.join(' ')})`,
  );
  return p;
}

async function run(label: string): Promise<{ run: string; totalSeconds: number; peakRssMb: number; parts: Part[] }> {
  console.log(`${label} run, ${STAYS} stays, load ${load().join(' ')}`);
  peak = process.memoryUsage().rss;
  const t0 = performance.now();
  const parts: Part[] = [];
  let index: Awaited<ReturnType<typeof indexStays>> | undefined;
  parts.push(
    await part('find the stays of the months', async () => {
      index = await indexStays(db, MONTHS);
      return { stays: index.ids.length };
    }),
  );
  const idx = index;
  if (!idx) throw new Error('no index');
  parts.push(
    await part(`indicators, 12 months (${INDICATOR_AGREEMENT})`, async (stats) => {
      let values = 0;
      for await (const m of indicatorMonths(
        db,
        getAgreement(agreements, INDICATOR_AGREEMENT),
        MONTHS,
        `${YEAR + 1}-01-15T00:00:00Z`,
        idx,
        stats,
      )) {
        values += m.values.length;
      }
      return { values };
    }),
  );
  for (const id of LIABILITY_AGREEMENTS) {
    parts.push(
      await part(`liability, 12 months (${id})`, async (stats) => {
        let days = 0;
        let stays = 0;
        for await (const r of liabilityMonths(deps, { agreement: id, months: MONTHS }, idx, stats)) {
          for (const m of r.municipalities) {
            days += m.days;
            stays += m.stays.length;
          }
        }
        return { billedDays: Math.round(days), staysBilled: stays };
      }),
    );
  }
  const totalSeconds = Math.round((performance.now() - t0) / 100) / 10;
  console.log(`${label}: ${totalSeconds} s, peak RSS ${mb(peak)} MB`);
  return { run: label, totalSeconds, peakRssMb: mb(peak), parts };
}

const warmOnly = process.env.BENCH_NATIONAL_WARM_ONLY === '1';
if (!warmOnly) await db.query('TRUNCATE stay_fold');
const cold = warmOnly ? undefined : await run('cold (fold cache empty)');
const warm = await run('warm (fold cache filled)');
clearInterval(sampler);
// The figure the target is about: the months' stays found, their indicators, and their liability under the same
// agreement (each stay billed once, under its own region's agreement); the other agreements are what-ifs.
const own = (r: typeof warm) =>
  r.parts
    .filter((p) => !p.part.startsWith('liability') || p.part.endsWith(`(${INDICATOR_AGREEMENT})`))
    .reduce((sum, p) => sum + p.seconds, 0);
const ownSeconds = {
  warm: Math.round(own(warm) * 10) / 10,
  ...(cold ? { cold: Math.round(own(cold) * 10) / 10 } : {}),
};
console.log(`indicators and liability under ${INDICATOR_AGREEMENT}: ${JSON.stringify(ownSeconds)} s`);
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
// The V8 heap limit this run had (NODE_OPTIONS=--max-old-space-size=800 for the figure under 1 GB; without it V8
// sizes the heap by the machine's memory and lets it grow to 2–2.5 GB here).
const heapLimitMb = mb(getHeapStatistics().heap_size_limit);
console.log(`process maxRSS ${maxRssMb} MB, heap limit ${heapLimitMb} MB`);
const foldMb = Number(
  (await db.query<{ n: string }>(`SELECT pg_total_relation_size('stay_fold') AS n`)).rows[0]?.n ?? 0,
);
await db.close();

const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'national-year.json'),
  `${JSON.stringify(
    {
      benchmark: 'national-year',
      date: new Date().toISOString(),
      node: process.version,
      stays: STAYS,
      jit: process.env.PG_JIT === 'true',
      facts: Number(counts?.facts),
      tasks: Number(counts?.tasks),
      databaseMb: mb(Number(counts?.size)),
      foldCacheMb: mb(foldMb),
      ...(fill ? { fillSeconds: Math.round(fill.ms / 1000) } : {}),
      months: MONTHS.length,
      indicatorAgreement: INDICATOR_AGREEMENT,
      liabilityAgreements: LIABILITY_AGREEMENTS,
      runs: cold ? [cold, warm] : [warm],
      indicatorsAndOwnLiabilitySeconds: ownSeconds,
      maxRssMb,
      heapLimitMb,
      target: { seconds: 120, rssMb: 1024 },
    },
    null,
    2,
  )}\n`,
);
