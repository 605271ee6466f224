/**
 * `npm run bench`: runs every `bench/*.bench.ts` as its own process, in sequence (BENCH_QUICK and the rest of
 * the environment pass through), then prints a summary of `bench/results/*.json`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const only = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const failed: string[] = [];
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', f)], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
  });
  console.log(
    `=== ${f}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (r.status !== 0) failed.push(f);
}

/** Numeric and short string leaves, as `a.b.c = v`, for a compact summary. */
function leaves(v: unknown, prefix: string, out: string[], depth = 0): void {
  if (out.length > 40 || depth > 4) return;
  if (typeof v === 'number' || typeof v === 'boolean') out.push(`${prefix} = ${v}`);
  else if (typeof v === 'string' && v.length < 40 && !/date/i.test(prefix)) out.push(`${prefix} = ${v}`);
  else if (Array.isArray(v))
    v.slice(0, 4).forEach((x, i) => leaves(x, `${prefix}[${(x as { store?: string })?.store ?? i}]`, out, depth + 1));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out, depth + 1);
}

console.log('\n=== Summary of bench/results ===');
const resultsDir = join(benchDir, 'results');
for (const f of readdirSync(resultsDir)
  .filter((x) => x.endsWith('.json'))
  .sort()) {
  try {
    const data = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Record<string, unknown>;
    const lines: string[] = [];
    leaves(data, '', lines);
    console.log(`\n${f} (${typeof data.date === 'string' ? data.date : ''})`);
    for (const l of lines) console.log(`  ${l}`);
  } catch (e) {
    console.log(`\n${f}: unreadable (${String(e)})`);
  }
}
if (failed.length > 0) {
  console.error(`\nFailed: ${failed.join(', ')}`);
  process.exit(1);
}
