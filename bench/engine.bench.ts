/**
 * Engine benchmark: evaluate synthetic stays (realistic fact sequences, mixed categories and agreements)
 * with `evaluateStay`, and report time, stays/s and peak RSS. `BENCH_QUICK=1` runs 20 000 stays.
 *   npx tsx bench/engine.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAgreement, loadAgreements } from '../src/agreements/load-agreements';
import { evaluateStay } from '../src/core/engine/evaluate';
import type { StayFact } from '../src/core/stay/facts';
import { AGREEMENT_MIX, syntheticStay } from '../test/core/engine/synthetic-stays';

const quick = process.env.BENCH_QUICK === '1';
const STAYS = Number(process.env.BENCH_STAYS ?? (quick ? 20_000 : 1_000_000));
const CHUNK = 10_000;
const INVOLVED_SHARE = 0.3; // 002 says ~5 % involve the municipality; 30 % makes the engine work harder

const agreements = await loadAgreements();
const mix = AGREEMENT_MIX.map((id) => getAgreement(agreements, id));

let peakRss = process.memoryUsage().rss;
let evalNs = 0n;
let evalCpuUs = 0;
let facts = 0;
let tasks = 0;
let rejected = 0;
const byCategory = new Map<string, number>();
const start = process.hrtime.bigint();

for (let first = 0; first < STAYS; first += CHUNK) {
  const n = Math.min(CHUNK, STAYS - first);
  const batch: StayFact[][] = new Array<StayFact[]>(n);
  for (let i = 0; i < n; i++) batch[i] = syntheticStay(first + i + 1, { involvedShare: INVOLVED_SHARE });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const stay = batch[i]!;
    const e = evaluateStay(stay, mix[(first + i) % mix.length]!);
    facts += stay.length;
    tasks += e.tasks.length;
    rejected += e.rejected.length;
    const c = e.state.category ?? '-';
    byCategory.set(c, (byCategory.get(c) ?? 0) + 1);
  }
  evalNs += process.hrtime.bigint() - t0;
  const c1 = process.cpuUsage(c0);
  evalCpuUs += c1.user + c1.system;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}

const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
const evalMs = Number(evalNs) / 1e6;
const maxRssKb = process.resourceUsage().maxRSS;
const result = {
  benchmark: 'engine',
  date: new Date().toISOString(),
  node: process.version,
  quick,
  stays: STAYS,
  facts,
  tasks,
  rejectedFacts: rejected,
  involvedShare: INVOLVED_SHARE,
  agreements: [...new Set(AGREEMENT_MIX)],
  evaluateMs: Math.round(evalMs),
  /** CPU time of the evaluation loops (user + system, includes GC): a fairer figure on a loaded machine. */
  evaluateCpuMs: Math.round(evalCpuUs / 1000),
  staysPerCpuSecond: Math.round(STAYS / (evalCpuUs / 1e6)),
  loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  wallMsIncludingGeneration: Math.round(wallMs),
  staysPerSecond: Math.round(STAYS / (evalMs / 1000)),
  factsPerSecond: Math.round(facts / (evalMs / 1000)),
  microsecondsPerStay: Number(((evalMs * 1000) / STAYS).toFixed(2)),
  peakRssMb: Math.round(Math.max(peakRss, maxRssKb * 1024) / 1024 / 1024),
  categories: Object.fromEntries([...byCategory.entries()].sort()),
};

console.table({
  stays: result.stays,
  facts: result.facts,
  tasks: result.tasks,
  'evaluate ms': result.evaluateMs,
  'evaluate CPU ms': result.evaluateCpuMs,
  'stays per CPU s': result.staysPerCpuSecond,
  'load average (1 min)': result.loadAverage1m,
  'wall ms (incl. generation)': result.wallMsIncludingGeneration,
  'stays/s': result.staysPerSecond,
  'facts/s': result.factsPerSecond,
  'µs/stay': result.microsecondsPerStay,
  'peak RSS MB': result.peakRssMb,
});
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'engine.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
