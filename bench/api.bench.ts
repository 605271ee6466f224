/**
 * API benchmark: Patient + Encounter transaction Bundles through the real HTTP API of a gateway child process
 * (the compiled `main.js http`, as `npm start` builds and runs it: its environment and node flags, HTTP API only, demo region loaded), with a bearer token from POST /auth/token.
 *   Phase 1 (closed loop): N Bundles at C in flight → throughput, p50/p99 latency.
 *   Phase 2 (open loop): a fixed 200 Bundles/s for D seconds → p50/p99 measured from each request's scheduled
 *   start (no coordinated omission).
 * Runs against PGlite (a fresh DATA_DIR), and also against PostgreSQL when DATABASE_URL is set (a fresh
 * database, dropped afterwards). Peak RSS is the gateway process's VmHWM (also read once ready, before the load: the
 * start's own peak), RSS after its VmRSS at the end of the load. Each phase also reports the CPU per request of the
 * gateway process and of the database's PostgreSQL backends (/proc; PGlite runs inside the gateway). BENCH_QUICK=1 for a small run;
 * BENCH_N, BENCH_CONCURRENCY override; BENCH_NODE_ARGS passes node flags to the gateway (e.g. --cpu-prof, --trace-gc),
 * BENCH_CLIENT=fetch sends the load with global fetch as before 2026-12-05 (support/http-post.ts);
 * BENCH_CHILD_STDOUT=1 shows the gateway's stdout (where --trace-gc writes), BENCH_TRACE=<file> writes each fixed-rate
 * request's scheduled start and latency (ms) as CSV, to see whether slow requests come in bursts.
 *   npx tsx bench/api.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { freePort, startLocalRedis } from '../src/platform/redis-server';
import { buildGateway, systemRepository } from '../src/compose';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/platform/logger';
import { systemClock } from '../src/platform/clock';
import { openDb } from '../src/store/open-db';
import { loadDemoRegion } from '../src/demo/demo-region';
import { dropDatabase, openTestDb } from '../test/support/db';
import { GATEWAY_NODE_FLAGS, withGatewayRuntimeEnv } from '../scripts/runtime-env.mjs';
import { buildGateway as compileGateway, cpuSeconds, trackPostgresCpu } from './support/gateway';
import { openPostgres } from '../src/store/db.pg';
import type { ClosableDb, Db } from '../src/store/db.port';
import { admissionBundle } from './support/synthetic';
import { closeLoadClient, loadClient, postFhir } from './support/http-post';

const quick = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_N ?? (quick ? 300 : 3000));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const RATE_SECONDS = quick ? 3 : 15;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface PhaseResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the load generator (this process) used per request (ms): it shares the machine with the gateway. */
  clientCpuMsPerRequest?: number;
  /** CPU (user + system, /proc) per request of the gateway process and of the database's PostgreSQL backends. */
  gatewayCpuMsPerRequest?: number;
  postgresCpuMsPerRequest?: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(lat: number[], errors: number, seconds: number): PhaseResult {
  const s = [...lat].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    requests: lat.length + errors,
    errors,
    seconds: r(seconds),
    perSecond: r(lat.length / seconds),
    p50Ms: r(pct(s, 50)),
    p90Ms: r(pct(s, 90)),
    p99Ms: r(pct(s, 99)),
    maxMs: r(s[s.length - 1] ?? NaN),
  };
}

const runId = randomBytes(3).toString('hex');
let seq = 0;
function bundle(): object {
  return admissionBundle(seq++, runId, {
    hospital: 'Organization/vastmanlands-sjukhus-vasteras',
    listedUnitHsaId: 'SE2321000172-DEMO0101',
  });
}

async function waitReady(base: string, child: ChildProcess, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('gateway did not become ready');
}

/** A memory figure of the gateway process from /proc: `VmHWM` (peak RSS) or `VmRSS` (now), in MB. */
function rssMb(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

async function post(base: string, token: string): Promise<number> {
  const t0 = performance.now();
  const res = await postFhir(base, token, JSON.stringify(bundle()));
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return performance.now() - t0;
}

async function closedLoop(base: string, token: string, n: number, conc: number): Promise<PhaseResult> {
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        next++;
        try {
          lat.push(await post(base, token));
        } catch (e) {
          errors++;
          firstError ??= String(e);
        }
      }
    }),
  );
  if (firstError) console.error(`  first error: ${firstError}`);
  return summarize(lat, errors, (performance.now() - t0) / 1000);
}

async function openLoop(base: string, token: string, rate: number, seconds: number): Promise<PhaseResult> {
  const lat: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  // What failed, by kind (HTTP status or network error), so an error count is never left unexplained.
  const kinds = new Map<string, number>();
  const trace = process.env.BENCH_TRACE ? ['start_ms,latency_ms'] : undefined;
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      post(base, token).then(
        () => {
          const ms = performance.now() - due;
          lat.push(ms);
          trace?.push(`${(due - t0).toFixed(1)},${ms.toFixed(1)}`);
        },
        (e: unknown) => {
          errors++;
          const msg = String((e as Error)?.cause ?? e);
          const kind = /^Error: (HTTP \d+)/.exec(String(e))?.[1] ?? msg.slice(0, 80);
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        },
      ),
    );
  }
  await Promise.all(inflight);
  if (trace) writeFileSync(process.env.BENCH_TRACE!, trace.join('\n') + '\n');
  if (kinds.size > 0) console.error(`  errors by kind: ${JSON.stringify(Object.fromEntries(kinds))}`);
  return summarize(lat, errors, (performance.now() - t0) / 1000);
}

/**
 * Runs a phase and adds the CPU per request of the gateway process and (PostgreSQL, `monitor` on its database) of
 * the database's backends: the figures that tell two runs apart where throughput on this shared machine does not.
 */
async function measuredCpu(
  pid: number,
  monitor: Db | undefined,
  phase: () => Promise<PhaseResult>,
): Promise<PhaseResult> {
  const postgres = monitor ? await trackPostgresCpu(monitor) : undefined;
  const gw0 = cpuSeconds(pid);
  try {
    const r = await phase();
    const perRequest = (seconds: number) => Math.round((seconds * 1e5) / Math.max(1, r.requests)) / 100;
    r.gatewayCpuMsPerRequest = perRequest(cpuSeconds(pid) - gw0);
    if (postgres) r.postgresCpuMsPerRequest = perRequest(postgres.seconds());
    return r;
  } finally {
    postgres?.stop();
  }
}

async function runAgainst(store: 'pglite' | 'postgres', redisUrl: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'svu-bench-'));
  let databaseUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  if (store === 'postgres') {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const name = `svu_bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await a.connect();
      await dropDatabase(a, name);
      await a.end();
    };
  }
  let monitor: ClosableDb | undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // the environment `npm start` gives the gateway (scripts/runtime-env.mjs)
  const env: NodeJS.ProcessEnv = withGatewayRuntimeEnv({
    ...process.env,
    PORT: String(port),
    DATA_DIR: dataDir,
    REDIS_URL: redisUrl,
    NODE_ENV: 'development',
    DEMO_REGION: 'true',
    LOG_LEVEL: 'warn',
    QUEUE_PREFIX: `bench-${runId}`,
    PUBLIC_BASE_URL: base,
  });
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const child = spawn(
    process.execPath,
    // npm start's node flags, then BENCH_NODE_ARGS (a later flag wins, so these can override them)
    [
      ...GATEWAY_NODE_FLAGS,
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(built.dir, 'main.js'),
      'http',
    ],
    {
      cwd: root,
      env,
      stdio: ['ignore', process.env.BENCH_CHILD_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  try {
    await waitReady(base, child);
    if (databaseUrl) {
      monitor = openPostgres(databaseUrl, { max: 1 });
    }
    const tok = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('demo-ehr:demo-ehr-secret').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token: token } = (await tok.json()) as { access_token: string };
    // The start's own peak (loading the FHIR definitions, the demo region), apart from the run's.
    const startPeakRssMb = rssMb(child.pid!);
    await closedLoop(base, token, Math.min(100, N), 4); // warm-up (JIT, caches, connection pool)
    console.error(`  [${store}] closed loop: ${N} bundles, ${CONCURRENCY} in flight`);
    const cpu0 = process.cpuUsage();
    const throughput = await measuredCpu(child.pid!, monitor, () => closedLoop(base, token, N, CONCURRENCY));
    const cpu = process.cpuUsage(cpu0);
    throughput.clientCpuMsPerRequest = Math.round((cpu.user + cpu.system) / 10 / throughput.requests) / 100;
    console.error(`  [${store}] open loop: ${RATE}/s for ${RATE_SECONDS} s`);
    const fixedRate = await measuredCpu(child.pid!, monitor, () => openLoop(base, token, RATE, RATE_SECONDS));
    const rssAfterMb = rssMb(child.pid!, 'VmRSS');
    return { store, throughput, fixedRate, peakRssMb: rssMb(child.pid!), startPeakRssMb, rssAfterMb };
  } finally {
    await monitor?.close().catch(() => undefined);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Audit overhead: the same reads (GET one Encounter, 8 in flight) through an in-process gateway on a fresh
 * PGlite (and a fresh PostgreSQL database when DATABASE_URL is set), once with the audit writer and once without; every read writes one AuditEvent when audited.
 */
async function auditOverhead(redisUrl: string, store: 'pglite' | 'postgres') {
  const reads = quick ? 400 : 3000;
  const out: Record<string, PhaseResult> = {};
  for (const audited of [false, true]) {
    const db = store === 'postgres' ? await openTestDb('postgres') : await openDb({ inMemory: true });
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', PUBLIC_BASE_URL: 'http://127.0.0.1' });
    const ctx = { config, db, redisUrl, logger: createLogger('error'), clock: systemClock, metrics: new Registry() };
    await loadDemoRegion(db, systemRepository);
    const gw = await buildGateway(ctx, audited ? {} : { systemRepository: null });
    const server = gw.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const tok = await fetch(`${base}/auth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('demo-ehr:demo-ehr-secret').toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      const { access_token: token } = (await tok.json()) as { access_token: string };
      const created = await fetch(`${base}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(bundle()),
      });
      const loc = ((await created.json()) as { entry: { response: { location: string } }[] }).entry[1]!.response
        .location;
      const encPath = /Encounter\/[^/]+/.exec(loc)![0];
      const read = async () => {
        const t0 = performance.now();
        const r = await fetch(`${base}/fhir/${encPath}`, { headers: { authorization: `Bearer ${token}` } });
        await r.text();
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        return performance.now() - t0;
      };
      for (let i = 0; i < 50; i++) await read();
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < reads) lat.push(await read());
        }),
      );
      out[`${store} ${audited ? 'audited' : 'not audited'}`] = summarize(lat, 0, (performance.now() - t0) / 1000);
      await gw.audit?.flush();
    } finally {
      server.close();
      await gw.close();
      await db.close();
    }
  }
  return out;
}

// The compiled gateway, as `npm start` runs it (not tsx: its loader is not what users run).
const built = compileGateway(root);
const redis = await startLocalRedis();
const results = [];
let audit: Record<string, PhaseResult> = {};
try {
  // BENCH_STORES=postgres (or pglite) limits the run to one store.
  const stores = process.env.BENCH_STORES?.split(',') ?? ['pglite', 'postgres'];
  if (stores.includes('pglite')) results.push(await runAgainst('pglite', redis.url));
  if (process.env.DATABASE_URL && stores.includes('postgres')) results.push(await runAgainst('postgres', redis.url));
  console.error('  [audit overhead] in-process reads with and without the audit writer');
  if (stores.includes('pglite')) audit = await auditOverhead(redis.url, 'pglite');
  if (process.env.DATABASE_URL && stores.includes('postgres'))
    audit = { ...audit, ...(await auditOverhead(redis.url, 'postgres')) };
} finally {
  await redis.stop();
  built.remove();
}

console.log(`\nAPI benchmark: Patient+Encounter transaction Bundles over HTTP (${cpus().length} CPUs, quick=${quick})`);
console.log(
  '| store | phase | requests | errors | per s | p50 ms | p90 ms | p99 ms | max ms | gateway CPU ms/req | PostgreSQL CPU ms/req | peak RSS MB (of it at start) | RSS after MB |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const [phase, p] of [
    [`closed loop, ${CONCURRENCY} in flight`, r.throughput],
    [`fixed ${RATE}/s`, r.fixedRate],
  ] as const) {
    console.log(
      `| ${r.store} | ${phase} | ${p.requests} | ${p.errors} | ${p.perSecond} | ${p.p50Ms} | ${p.p90Ms} | ${p.p99Ms} | ${p.maxMs} | ${p.gatewayCpuMsPerRequest ?? ''} | ${p.postgresCpuMsPerRequest ?? '(in the gateway)'} | ${r.peakRssMb} (${r.startPeakRssMb}) | ${r.rssAfterMb} |`,
    );
  }
}
console.log(
  `\nLoad generator (${loadClient}) CPU per request in the closed loop: ${results.map((r) => `${r.store} ${r.throughput.clientCpuMsPerRequest} ms`).join(', ')}`,
);
console.log('\nAudit overhead (in-process gateway, GET Encounter/<id>, 8 in flight):');
console.log('| audit | reads | per s | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|');
for (const [k, p] of Object.entries(audit))
  console.log(`| ${k} | ${p.requests} | ${p.perSecond} | ${p.p50Ms} | ${p.p99Ms} |`);
const out = join(root, 'bench', 'results', 'api.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      benchmark: 'api',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      quick,
      n: N,
      concurrency: CONCURRENCY,
      client: loadClient,
      rate: RATE,
      rateSeconds: RATE_SECONDS,
      results,
    },
    null,
    2,
  ),
);
console.log(`\nwritten ${out}`);
closeLoadClient();
