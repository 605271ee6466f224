/**
 * Notification-after-commit benchmark (`npx tsx bench/notify.bench.ts`; needs DATABASE_URL, BENCH_QUICK=1 for a
 * small run). The real compiled gateway (`node <build>/main.js <layout>`, demo region, a fresh PostgreSQL database
 * per run, one Redis) receives Patient+Encounter admission transaction Bundles over HTTP from the demo EHR; the
 * hospital's rest-hook Subscription (Encounter?status=in-progress, full resource, with a signing secret; the
 * setup of issue 17's comparison) points at a local receiver that checks every signature. For each admission:
 * response received → signed notification of its Encounter
 * received (ms; negative when the notification came first).
 *   Phase 1: one request in flight (BENCH_NOTIFY_SEQ admissions).
 *   Phase 2: API saturation, BENCH_NOTIFY_SAT admissions at 50 in flight (closed loop): the lag per admission and
 *            how long after the last response the last notification came.
 * Layouts `all` (one process) and `split` (API and worker processes) run interleaved, BENCH_NOTIFY_ROUNDS times,
 * since other processes share the machine. Also per admission: rows written and transactions committed in the
 * bench database (pg_stat_database), and CPU of PostgreSQL backends serving it and of the gateway processes.
 * BENCH_NODE_ARGS passes options to the gateway's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalRedis } from '../src/platform/redis-server';
import {
  activeSubscription,
  BackendCpu,
  buildGateway,
  descendants,
  pct,
  r1,
  receiver,
  startGateway,
  token,
  treeCpuSeconds,
  type RunningGateway,
} from './support/gateway';
import { admissionBundle } from './support/synthetic';
import { closeLoadClient, postFhir } from './support/http-post';

const quick = process.env.BENCH_QUICK === '1';
const SEQ = Number(process.env.BENCH_NOTIFY_SEQ ?? (quick ? 60 : 300));
const SAT = Number(process.env.BENCH_NOTIFY_SAT ?? (quick ? 600 : 2000));
const SAT_CONC = Number(process.env.BENCH_NOTIFY_CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? (quick ? 1 : 2));
const LAYOUTS = (process.env.BENCH_NOTIFY_LAYOUTS ?? 'all,split').split(',');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'bench-secret';

if (!process.env.DATABASE_URL) {
  console.error('notify bench: DATABASE_URL is required (the split layout runs on PostgreSQL only)');
  process.exit(2);
}

interface DbCounters {
  rows: number;
  commits: number;
  cpu: number;
}

async function dbCounters(admin: pg.Client, name: string, backends: BackendCpu): Promise<DbCounters> {
  const { rows } = await admin.query<{ w: string; c: string }>(
    `SELECT (tup_inserted + tup_updated + tup_deleted)::text AS w, xact_commit::text AS c
       FROM pg_stat_database WHERE datname = $1`,
    [name],
  );
  return { rows: Number(rows[0]?.w ?? 0), commits: Number(rows[0]?.c ?? 0), cpu: backends.cpu() };
}

interface PhaseResult {
  admissions: number;
  errors: number;
  notified: number;
  seconds: number;
  perSecond: number;
  postP50Ms: number;
  postP99Ms: number;
  notifyP50Ms: number;
  notifyP99Ms: number;
  notifyMaxMs: number;
  /** From the last response to the last notification. */
  tailMs: number;
  rowsPerAdmission: number;
  commitsPerAdmission: number;
  pgCpuMsPerAdmission: number;
  gatewayCpuMsPerAdmission: number;
}

async function runLayout(layout: string, build: string, redisUrl: string, round: number) {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const runId = randomBytes(3).toString('hex');
  const rx = await receiver(SECRET);
  let gw: RunningGateway | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    gw = await startGateway({
      root,
      build,
      layout,
      admin,
      adminUrl: process.env.DATABASE_URL!,
      redisUrl,
      dbPrefix: 'svu_notify',
      // e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the gateway's processes
      nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean),
    });
    const { base, child, name } = gw;
    const bk = new BackendCpu(admin, name);
    sampler = setInterval(() => void bk.track().catch(() => undefined), 250);
    // In split, readyz answers once the API runs; the worker starts after it. Wait for the handshake instead.
    const ehr = await token(base, 'demo-ehr');
    await activeSubscription(base, ehr, rx.url, SECRET);
    const procs = () => [child.pid!, ...descendants(child.pid!)];
    const gatewayCpu = () => treeCpuSeconds(child.pid!);

    let seq = 0;
    const post = async (): Promise<{ enc: string; at: number; ms: number }> => {
      const t0 = performance.now();
      const res = await postFhir(
        base,
        ehr,
        JSON.stringify(
          admissionBundle(seq++, runId, {
            hospital: 'Organization/vastmanlands-sjukhus-vasteras',
            listedUnitHsaId: 'SE2321000172-DEMO0101',
          }),
        ),
      );
      const text = res.text;
      const at = performance.now();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      const loc = (JSON.parse(text) as { entry: { response: { location: string } }[] }).entry[1]!.response.location;
      return { enc: /Encounter\/([^/]+)/.exec(loc)![1]!, at, ms: at - t0 };
    };

    const phase = async (n: number, conc: number): Promise<PhaseResult> => {
      await bk.track();
      const before = await dbCounters(admin, name, bk);
      const cpu0 = gatewayCpu();
      const done: { enc: string; at: number; ms: number }[] = [];
      let errors = 0;
      let firstError: string | undefined;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: conc }, async () => {
          while (next < n) {
            next++;
            try {
              done.push(await post());
            } catch (e) {
              errors++;
              firstError ??= String(e);
            }
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      if (firstError) console.error(`  first error: ${firstError}`);
      // Every notification, or 60 s without a new one.
      let last = rx.arrivals.size;
      let quietSince = performance.now();
      while (done.some((d) => !rx.arrivals.has(d.enc)) && performance.now() - quietSince < 60_000) {
        await new Promise((r) => setTimeout(r, 20));
        if (rx.arrivals.size !== last) {
          last = rx.arrivals.size;
          quietSince = performance.now();
        }
      }
      // Let trailing writes (delivery log, markers) land before reading the counters.
      await new Promise((r) => setTimeout(r, 1500));
      await bk.track();
      const after = await dbCounters(admin, name, bk);
      const cpu1 = gatewayCpu();
      const lags = done.filter((d) => rx.arrivals.has(d.enc)).map((d) => rx.arrivals.get(d.enc)! - d.at);
      const lastResponse = Math.max(...done.map((d) => d.at));
      const lastArrival = Math.max(...done.map((d) => rx.arrivals.get(d.enc) ?? NaN));
      const ok = done.length || 1;
      return {
        admissions: n,
        errors,
        notified: lags.length,
        seconds: r1(seconds),
        perSecond: r1(done.length / seconds),
        postP50Ms: r1(
          pct(
            done.map((d) => d.ms),
            50,
          ),
        ),
        postP99Ms: r1(
          pct(
            done.map((d) => d.ms),
            99,
          ),
        ),
        notifyP50Ms: r1(pct(lags, 50)),
        notifyP99Ms: r1(pct(lags, 99)),
        notifyMaxMs: r1(Math.max(...lags)),
        tailMs: r1(lastArrival - lastResponse),
        rowsPerAdmission: r1((after.rows - before.rows) / ok),
        commitsPerAdmission: r1((after.commits - before.commits) / ok),
        pgCpuMsPerAdmission: r1(((after.cpu - before.cpu) * 1000) / ok),
        gatewayCpuMsPerAdmission: r1(((cpu1 - cpu0) * 1000) / ok),
      };
    };

    await phase(Number(process.env.BENCH_NOTIFY_WARMUP ?? (quick ? 20 : 50)), 4); // warm-up
    console.error(`  [${layout} #${round}] ${SEQ} admissions, 1 in flight`);
    const sequential = await phase(SEQ, 1);
    console.error(`  [${layout} #${round}] ${SAT} admissions, ${SAT_CONC} in flight`);
    const saturated = await phase(SAT, SAT_CONC);
    if (rx.badSignatures > 0) throw new Error(`${rx.badSignatures} notifications with a bad signature`);
    // Peak RSS (VmHWM) per gateway process, named by its role argument (the supervisor: its layout).
    const peakRssMb: Record<string, number> = {};
    for (const pid of procs()) {
      try {
        const role = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).pop() ?? String(pid);
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m)
          peakRssMb[pid === child.pid && layout === 'split' ? 'supervisor' : role] = Math.round(Number(m[1]) / 1024);
      } catch {
        // ended meanwhile
      }
    }
    return { layout, round, sequential, saturated, peakRssMb, loadavg: loadavg().map(r1) };
  } finally {
    clearInterval(sampler);
    await gw?.stop();
    rx.close();
    await admin.end();
  }
}

const built = buildGateway(root);
const build = built.dir;
const redis = await startLocalRedis();
const results: Awaited<ReturnType<typeof runLayout>>[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++)
    for (const layout of round % 2 ? LAYOUTS : [...LAYOUTS].reverse())
      results.push(await runLayout(layout, build, redis.url, round));
} finally {
  await redis.stop();
  built.remove();
}

console.log(
  `\nNotification after commit: admission Bundle → signed rest-hook at a local receiver (PostgreSQL, ${cpus().length} CPUs, shared machine, quick=${quick})`,
);
console.log(
  '| layout | round | phase | admissions | per s | POST p50/p99 ms | notify p50 ms | notify p99 ms | notify max ms | tail ms | rows/adm | commits/adm | PG CPU ms/adm | gateway CPU ms/adm |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  for (const [phase, p] of [
    ['1 in flight', r.sequential],
    [`${SAT_CONC} in flight`, r.saturated],
  ] as const)
    console.log(
      `| ${r.layout} | ${r.round} | ${phase} | ${p.notified}/${p.admissions} | ${p.perSecond} | ${p.postP50Ms}/${p.postP99Ms} | ${p.notifyP50Ms} | ${p.notifyP99Ms} | ${p.notifyMaxMs} | ${p.tailMs} | ${p.rowsPerAdmission} | ${p.commitsPerAdmission} | ${p.pgCpuMsPerAdmission} | ${p.gatewayCpuMsPerAdmission} |`,
    );
console.log('\nPeak RSS per gateway process (MB):');
for (const r of results)
  console.log(
    `  ${r.layout} #${r.round}: ${Object.entries(r.peakRssMb)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
const out = join(root, 'bench', 'results', 'notify.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { benchmark: 'notify', date: new Date().toISOString(), node: process.version, cpus: cpus().length, quick, results },
    null,
    2,
  ),
);
console.log(`\nwritten ${out}`);
closeLoadClient();
