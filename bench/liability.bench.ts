/**
 * Payment liability benchmark: a year of a region (~40 000 stays discharged in 2022 across ten
 * municipalities) as NDJSON text, parsed once, then the monthly report for all twelve months under each payment
 * model (law, Jönköping's retroactive average, Västmanland's next-month average with its history).
 * Reports time and memory. `BENCH_QUICK=1` runs 4 000 stays.
 *   npx tsx bench/liability.bench.ts
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAgreement, loadAgreements } from '../src/agreements/load-agreements';
import { computeLiability } from '../src/core/liability/compute-liability';
import { dailyRateTableSchema, paymentModelSchema } from '../src/core/liability/payment-model';
import { parseStaysNdjson, type StayInput } from '../src/core/liability/stay';

const quick = process.env.BENCH_QUICK === '1';
const STAYS = quick ? 4_000 : 40_000;
const MUNICIPALITIES = ['1904', '1907', '1960', '1961', '1962', '1980', '1981', '1982', '1983', '1984'];
const H = 3_600_000;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthetic(n: number): string {
  const r = rng(42);
  const yearStart = Date.parse('2022-01-01T00:00:00+01:00');
  const yearMs = 365 * 24 * H;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    // Days after ready: mostly 0–4, a tail up to ~20 days.
    const days = r() < 0.85 ? Math.floor(r() * 5) : 5 + Math.floor(r() * 16);
    const discharged = yearStart + Math.floor(r() * (yearMs - 2 * H));
    const ready = discharged - days * 24 * H - Math.floor(r() * 23 * H);
    const sipRequired = r() < 0.4;
    const s: StayInput = {
      id: `s${i + 1}`,
      municipality: MUNICIPALITIES[Math.floor(r() * MUNICIPALITIES.length)] ?? '1980',
      placingMunicipality: r() < 0.02 ? '1980' : null,
      care: r() < 0.1 ? 'psychiatric' : 'somatic',
      admittedAt: new Date(ready - Math.floor(r() * 10 * 24 * H)).toISOString(),
      readyAt: new Date(ready).toISOString(),
      dischargedAt: new Date(discharged).toISOString(),
      admissionNoticeSent: r() > 0.02,
      estimatedDischargeDateSent: r() > 0.02,
      readyNoticeSent: r() > 0.01,
      sipRequired,
      sipInvitationSent: sipRequired ? r() > 0.05 : false,
    };
    lines.push(JSON.stringify(s));
  }
  return `${lines.join('\n')}\n`;
}

const mb = (b: number): number => Math.round((b / 1024 / 1024) * 10) / 10;
let peakRss = process.memoryUsage().rss;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

const agreements = await loadAgreements();
const rates = dailyRateTableSchema.parse(
  JSON.parse(readFileSync(new URL('../agreements/rates/vardpris.json', import.meta.url), 'utf8')),
);
const text = synthetic(STAYS);
const rssBefore = process.memoryUsage().rss;

const t0 = performance.now();
const stays = parseStaysNdjson(text);
const parseMs = performance.now() - t0;
sample();

const months = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, '0')}`);
const rows: {
  agreement: string;
  model: string;
  ms: number;
  perMonthMs: number;
  staysPerSecond: number;
  days: number;
  amountSek: number;
}[] = [];
for (const id of ['lag', 'jonkoping', 'vastmanland']) {
  const payment = paymentModelSchema.parse(getAgreement(agreements, id).payment);
  const start = performance.now();
  let days = 0;
  let amount = 0;
  for (const month of months) {
    const report = computeLiability({ agreement: id, month, payment, stays, rates });
    for (const m of report.municipalities) {
      days += m.days;
      amount += m.amount;
    }
    sample();
  }
  const ms = performance.now() - start;
  rows.push({
    agreement: id,
    model: payment.model,
    ms: Math.round(ms),
    perMonthMs: Math.round((ms / 12) * 10) / 10,
    staysPerSecond: Math.round(stays.length / (ms / 1000)),
    days: Math.round(days * 10) / 10,
    amountSek: Math.round(amount),
  });
}

console.log(
  `payment liability, ${stays.length} stays (2022, ${MUNICIPALITIES.length} municipalities)${quick ? ' [quick]' : ''}`,
);
console.log(`parse NDJSON: ${Math.round(parseMs)} ms (${Math.round(stays.length / (parseMs / 1000))} lines/s)`);
console.table(rows);
console.log(`RSS before parse ${mb(rssBefore)} MB, peak ${mb(peakRss)} MB; input ${mb(text.length)} MB`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'liability.json'),
  `${JSON.stringify(
    {
      benchmark: 'liability',
      date: new Date().toISOString(),
      node: process.version,
      quick,
      stays: stays.length,
      municipalities: MUNICIPALITIES.length,
      inputMb: mb(text.length),
      parseMs: Math.round(parseMs),
      yearReports: rows,
      rssBeforeMb: mb(rssBefore),
      peakRssMb: mb(peakRss),
    },
    null,
    2,
  )}\n`,
);
