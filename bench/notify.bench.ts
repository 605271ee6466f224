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
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startLocalRedis } from '../src/platform/redis-server';
import { verifySignature } from '../src/delivery/signature';
import { SECRET_EXTENSION } from '../src/subscriptions/subscription-model';
import { admissionBundle } from './support/synthetic';

const quick = process.env.BENCH_QUICK === '1';
const SEQ = Number(process.env.BENCH_NOTIFY_SEQ ?? (quick ? 60 : 300));
const SAT = Number(process.env.BENCH_NOTIFY_SAT ?? (quick ? 600 : 2000));
const SAT_CONC = Number(process.env.BENCH_NOTIFY_CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? (quick ? 1 : 2));
const LAYOUTS = (process.env.BENCH_NOTIFY_LAYOUTS ?? 'all,split').split(',');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'bench-secret';
const CLK_TCK = 100;

if (!process.env.DATABASE_URL) {
  console.error('notify bench: DATABASE_URL is required (the split layout runs on PostgreSQL only)');
  process.exit(2);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** CPU seconds (user+system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const pairs = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const all: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of pairs)
      if (pp === p) {
        all.push(c);
        walk(c);
      }
  };
  walk(pid);
  return all;
}

interface Receiver {
  url: string;
  server: Server;
  /** Encounter id → arrival (performance.now()) of the first signed notification naming it. */
  arrivals: Map<string, number>;
  badSignatures: number;
}

async function receiver(): Promise<Receiver> {
  const rx: Receiver = { url: '', server: undefined as unknown as Server, arrivals: new Map(), badSignatures: 0 };
  rx.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      res.writeHead(200).end();
      const body = JSON.parse(raw) as {
        entry?: { resource?: { resourceType?: string; id?: string } }[];
      };
      if (process.env.BENCH_NOTIFY_DEBUG && rx.arrivals.size < 2) console.error(raw.slice(0, 1500));
      const encounters = (body.entry ?? []).filter((e) => e.resource?.resourceType === 'Encounter');
      if (encounters.length === 0) return; // handshake, heartbeat
      if (!verifySignature(SECRET, req.headers, raw).ok) {
        rx.badSignatures++;
        return;
      }
      for (const e of encounters) {
        const enc = e.resource?.id;
        if (enc && !rx.arrivals.has(enc)) rx.arrivals.set(enc, at);
      }
    });
  });
  rx.server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(rx.server.address() as AddressInfo).port}/hook`;
  return rx;
}

async function token(base: string, client: string): Promise<string> {
  const res = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token for ${client}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

interface DbCounters {
  rows: number;
  commits: number;
  cpu: number;
}

async function dbCounters(admin: pg.Client, name: string, backends: Map<number, number>): Promise<DbCounters> {
  const { rows } = await admin.query<{ w: string; c: string }>(
    `SELECT (tup_inserted + tup_updated + tup_deleted)::text AS w, xact_commit::text AS c
       FROM pg_stat_database WHERE datname = $1`,
    [name],
  );
  return { rows: Number(rows[0]?.w ?? 0), commits: Number(rows[0]?.c ?? 0), cpu: sampleBackends(backends) };
}

/** Adds the CPU seconds of backends of the bench database seen now; returns the sum of the last seen values. */
function sampleBackends(backends: Map<number, number>): number {
  let sum = 0;
  for (const [pid, last] of backends) {
    const now = cpuSeconds(pid);
    if (Number.isFinite(now)) backends.set(pid, now);
    sum += Number.isFinite(now) ? now : last;
  }
  return sum;
}

async function trackBackends(admin: pg.Client, name: string, backends: Map<number, number>): Promise<void> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  for (const { pid } of rows) if (!backends.has(pid)) backends.set(pid, cpuSeconds(pid));
  sampleBackends(backends);
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
  const name = `svu_notify_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${name}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const runId = randomBytes(3).toString('hex');
  const rx = await receiver();
  let child: ChildProcess | undefined;
  const backends = new Map<number, number>();
  const sampler = setInterval(() => void trackBackends(admin, name, backends).catch(() => undefined), 250);
  try {
    child = spawn(process.execPath, ['--enable-source-maps', join(build, 'main.js'), layout], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: u.toString(),
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: `bench-${runId}`,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        DATA_DIR: join(build, `data-${runId}`),
        NODE_ENV: 'development',
        DEMO_REGION: 'true',
        LOG_LEVEL: 'warn',
        PUBLIC_BASE_URL: base,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const until = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway (${layout}) exited with ${child.exitCode}`);
      if (Date.now() > until) throw new Error(`gateway (${layout}) not ready`);
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // In split, readyz answers once the API runs; the worker starts after it. Wait for the handshake instead.
    const ehr = await token(base, 'demo-ehr');
    const sub = await fetch(`${base}/fhir/Subscription`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ehr}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'notify bench',
        criteria: 'Encounter?status=in-progress',
        channel: { type: 'rest-hook', endpoint: rx.url, payload: 'application/fhir+json' },
        extension: [{ url: SECRET_EXTENSION, valueString: SECRET }],
      }),
    });
    if (!sub.ok) throw new Error(`Subscription: HTTP ${sub.status} ${await sub.text()}`);
    const subId = ((await sub.json()) as { id: string }).id;
    for (let i = 0; ; i++) {
      const s = (await (
        await fetch(`${base}/fhir/Subscription/${subId}`, { headers: { authorization: `Bearer ${ehr}` } })
      ).json()) as { status: string };
      if (s.status === 'active') break;
      if (i > 200) throw new Error(`Subscription stayed ${s.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const procs = () => [child!.pid!, ...descendants(child!.pid!)];
    const gatewayCpu = () => procs().reduce((a, p) => a + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);

    let seq = 0;
    const post = async (): Promise<{ enc: string; at: number; ms: number }> => {
      const t0 = performance.now();
      const res = await fetch(`${base}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ehr}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(
          admissionBundle(seq++, runId, {
            hospital: 'Organization/vastmanlands-sjukhus-vasteras',
            listedUnitHsaId: 'SE2321000172-DEMO0101',
          }),
        ),
      });
      const text = await res.text();
      const at = performance.now();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      const loc = (JSON.parse(text) as { entry: { response: { location: string } }[] }).entry[1]!.response.location;
      return { enc: /Encounter\/([^/]+)/.exec(loc)![1]!, at, ms: at - t0 };
    };

    const phase = async (n: number, conc: number): Promise<PhaseResult> => {
      await trackBackends(admin, name, backends);
      const before = await dbCounters(admin, name, backends);
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
      await trackBackends(admin, name, backends);
      const after = await dbCounters(admin, name, backends);
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
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rx.server.closeAllConnections();
    rx.server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

const build = join(root, `.build-bench-${process.pid}`);
const built = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', build], { cwd: root, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
const redis = await startLocalRedis();
const results: Awaited<ReturnType<typeof runLayout>>[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++)
    for (const layout of round % 2 ? LAYOUTS : [...LAYOUTS].reverse())
      results.push(await runLayout(layout, build, redis.url, round));
} finally {
  await redis.stop();
  rmSync(build, { recursive: true, force: true });
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
