/**
 * Writes per admission (`npm run bench writes`; needs DATABASE_URL; BENCH_QUICK=1 for a small run): statements,
 * rows and PostgreSQL CPU that one admission costs on each path, counted rather than timed, so the figures do not
 * depend on how busy the (shared) machine is. The real compiled gateway (one process, layout `all`, demo region,
 * a fresh PostgreSQL database) with the hospital's signed rest-hook Subscription (Encounter?status=in-progress, as
 * in notify.bench.ts) delivering to a local receiver; one request in flight; three paths, BENCH_WRITES_N each:
 *   fhir: a transaction Bundle (Patient conditional create + Encounter), until its notification has arrived;
 *   hl7:  an A01 over POST /hl7v2 (acknowledged once stored; applied after), until the gateway is quiet;
 *   task: the owning municipality PUTs a `requested` Task of an earlier admission as `received`.
 * Figures per admission (per request), and per table:
 *   - statements: every statement the gateway process sends (a preload, bench/support/count-statements.mjs, counts
 *     them at node-postgres' Client#query: pg_stat_statements needs shared_preload_libraries and a restart), less
 *     the background (polls of relay, timers, queues) at the rate measured in an idle window; a statement that
 *     writes several tables (a WITH of INSERTs) is counted once, at the first table it writes;
 *   - rows inserted, updated (of which HOT) and deleted: pg_stat_user_tables deltas. Other backends publish their
 *     counters at most once a second and, when idle, within 10 s (PostgreSQL 15; pg_stat_force_next_flush() flushes
 *     only its caller), so every window ends with BENCH_WRITES_SETTLE_MS (11 s) of quiet before they are read; the
 *     background's rows (the relay's lease row, heartbeats) at the idle window's rate per table are left out;
 *   - commits (pg_stat_database), CPU of the PostgreSQL backends serving the database and of the gateway process.
 * Results: bench/results/writes.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Task } from '@medplum/fhirtypes';
import pg from 'pg';
import { startLocalRedis } from '../src/platform/redis-server';
import {
  activeSubscription,
  BackendCpu,
  buildGateway,
  r1,
  receiver,
  sleep,
  startGateway,
  token,
  treeCpuSeconds,
  type RunningGateway,
} from './support/gateway';
import { admissionBundle, adt } from './support/synthetic';

const quick = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_WRITES_N ?? (quick ? 30 : 200));
const WARMUP = Number(process.env.BENCH_WRITES_WARMUP ?? (quick ? 10 : 30));
const SETTLE_MS = Number(process.env.BENCH_WRITES_SETTLE_MS ?? 11_000);
const IDLE_MS = Number(process.env.BENCH_WRITES_IDLE_MS ?? 15_000);
const SECRET = 'bench-secret';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!process.env.DATABASE_URL) {
  console.error('writes bench: DATABASE_URL is required (PostgreSQL)');
  process.exit(2);
}

type Counts = Record<string, number>;
interface TableStats {
  ins: number;
  upd: number;
  hot: number;
  del: number;
}
type Verb = 'INSERT' | 'UPDATE' | 'DELETE' | 'SELECT' | 'tx' | 'other';

/** The kind of a statement and the table it writes (or first reads). */
function classify(sql: string): { verb: Verb; table: string } {
  const s = sql.replace(/^(\s*\/\*.*?\*\/)+\s*/s, '');
  const first = (/^\w+/.exec(s)?.[0] ?? '').toUpperCase();
  if (['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'SET', 'LISTEN'].includes(first))
    return { verb: 'tx', table: '(session)' };
  const name = (re: RegExp) => re.exec(s)?.[1]?.replace(/"/g, '');
  const writes: [Verb, RegExp][] = [
    ['INSERT', /\bINSERT\s+INTO\s+("?[\w.]+"?)/i],
    ['UPDATE', /\bUPDATE\s+("?[\w.]+"?)\s+(?:AS\s+\w+\s+)?SET\b/i],
    ['UPDATE', /^UPDATE\s+("?[\w.]+"?)/i],
    ['DELETE', /\bDELETE\s+FROM\s+("?[\w.]+"?)/i],
  ];
  if (first === 'INSERT' || first === 'UPDATE' || first === 'DELETE' || first === 'WITH') {
    let best: { verb: Verb; table: string; at: number } | undefined;
    for (const [verb, re] of writes) {
      const m = re.exec(s);
      if (m && (!best || m.index < best.at)) best = { verb, table: name(re) ?? '?', at: m.index };
      if (m && first !== 'WITH' && verb === first) return { verb, table: name(re) ?? '?' };
    }
    if (best) return { verb: best.verb, table: best.table };
  }
  if (first === 'SELECT' || first === 'WITH') {
    // the first FROM naming a table (not a function such as unnest or svu_outbox_claim)
    const m = /\bFROM\s+"?([a-z_][\w.]*)"?\b(?!\s*\()/i.exec(s);
    return { verb: 'SELECT', table: m?.[1] ?? '(none)' };
  }
  return { verb: 'other', table: '(none)' };
}

async function main() {
  const built = buildGateway(root);
  const redis = await startLocalRedis();
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const countFile = join(built.dir, 'statements.json');
  const rx = await receiver(SECRET);
  let gw: RunningGateway | undefined;
  let stats: pg.Client | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    gw = await startGateway({
      root,
      build: built.dir,
      layout: 'all',
      admin,
      adminUrl: process.env.DATABASE_URL!,
      redisUrl: redis.url,
      dbPrefix: 'svu_writes',
      nodeArgs: ['--import', join(root, 'bench', 'support', 'count-statements.mjs')],
      env: { SVU_STMT_COUNT_FILE: countFile, LOG_LEVEL: 'error' },
    });
    const { base, child, name } = gw;
    stats = new pg.Client({ connectionString: gw.databaseUrl });
    await stats.connect();
    const st = stats;
    const backends = new BackendCpu(admin, name);
    const ownPid = (await st.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    backends.exclude.add(ownPid);
    sampler = setInterval(() => void backends.track().catch(() => undefined), 250);

    let lastSeq = 0;
    const statements = async (): Promise<Counts> => {
      child.kill('SIGUSR2');
      for (let i = 0; i < 200; i++) {
        await sleep(10);
        try {
          const r = JSON.parse(readFileSync(countFile, 'utf8')) as { seq: number; counts: Counts };
          if (r.seq > lastSeq) {
            lastSeq = r.seq;
            return r.counts;
          }
        } catch {
          // not written yet, or being written
        }
      }
      throw new Error('the gateway did not write its statement counts');
    };
    const tables = async (): Promise<Record<string, TableStats>> => {
      await st.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await st.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
        `SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot,
                n_tup_del::text AS del FROM pg_stat_user_tables`,
      );
      return Object.fromEntries(
        rows.map((r) => [
          r.relname,
          { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del) },
        ]),
      );
    };
    const commits = async () =>
      Number(
        (
          await admin.query<{ c: string }>('SELECT xact_commit::text AS c FROM pg_stat_database WHERE datname = $1', [
            name,
          ])
        ).rows[0]?.c ?? 0,
      );

    const ehr = await token(base, 'demo-ehr');
    const municipality = await token(base, 'demo-vasteras');
    await activeSubscription(base, ehr, rx.url, SECRET);
    const runId = randomBytes(3).toString('hex');

    let fhirSeq = 0;
    const fhirAdmission = async (): Promise<string> => {
      const res = await fetch(`${base}/fhir`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ehr}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(
          admissionBundle(fhirSeq++, runId, {
            hospital: 'Organization/vastmanlands-sjukhus-vasteras',
            listedUnitHsaId: 'SE2321000172-DEMO0101',
          }),
        ),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`FHIR transaction: HTTP ${res.status}: ${text.slice(0, 300)}`);
      const loc = (JSON.parse(text) as Bundle).entry![1]!.response!.location!;
      return /Encounter\/([^/]+)/.exec(loc)![1]!;
    };
    let hl7Seq = 0;
    const hl7Admission = async (): Promise<void> => {
      const i = 100_000 + hl7Seq++;
      const res = await fetch(`${base}/hl7v2`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ehr}`, 'content-type': 'x-application/hl7-v2+er7' },
        body: adt('A01', i, 0, runId),
      });
      const ack = await res.text();
      if (res.status !== 200 || !/\rMSA\|AA\|/.test(ack))
        throw new Error(`HL7 A01: HTTP ${res.status}: ${ack.replace(/\r/g, '\n').slice(0, 400)}`);
    };
    const requestedTasks = async (n: number): Promise<Task[]> => {
      const res = await fetch(`${base}/fhir/Task?status=requested&_count=${n}`, {
        headers: { authorization: `Bearer ${municipality}` },
      });
      if (!res.ok) throw new Error(`Task search: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return ((await res.json()) as Bundle).entry?.map((e) => e.resource as Task) ?? [];
    };
    const receive = async (t: Task): Promise<void> => {
      const res = await fetch(`${base}/fhir/Task/${t.id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${municipality}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ ...t, status: 'received' }),
      });
      if (!res.ok) throw new Error(`Task PUT: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    };

    /** Waits until no statement outside `background` has been sent for 1 s. */
    const quiet = async (background: ReadonlySet<string>) => {
      const fg = (c: Counts) => Object.entries(c).reduce((a, [k, v]) => a + (background.has(k) ? 0 : v), 0);
      let last = fg(await statements());
      let since = performance.now();
      while (performance.now() - since < 1000) {
        await sleep(200);
        const now = fg(await statements());
        if (now !== last) {
          last = now;
          since = performance.now();
        }
      }
    };

    // Warm-up (JIT, caches, the first Tasks of each kind), then the background in an idle window.
    for (let i = 0; i < WARMUP; i++) await fhirAdmission();
    for (let i = 0; i < WARMUP; i++) await hl7Admission();
    for (const t of await requestedTasks(WARMUP)) await receive(t);
    await sleep(SETTLE_MS);
    await backends.track();
    const snap = async () => ({
      s: await statements(),
      t: await tables(),
      c: await commits(),
      at: performance.now(),
      cpu: backends.cpu(),
    });
    const idle0 = await snap();
    await sleep(IDLE_MS);
    await backends.track();
    const idle1 = await snap();
    const idleSeconds = (idle1.at - idle0.at) / 1000;
    const bgCommitsPerSecond = (idle1.c - idle0.c) / idleSeconds;
    const bgCpuMsPerSecond = ((idle1.cpu - idle0.cpu) * 1000) / idleSeconds;
    const bgRate: Counts = {};
    for (const [k, v] of Object.entries(idle1.s)) {
      const d = v - (idle0.s[k] ?? 0);
      if (d > 0) bgRate[k] = d / idleSeconds;
    }
    const background = new Set(Object.keys(bgRate));
    const bgRows: Record<string, TableStats> = {};
    for (const [t, x] of Object.entries(idle1.t)) {
      const b = idle0.t[t] ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      if (x.ins + x.upd + x.del > b.ins + b.upd + b.del)
        bgRows[t] = {
          ins: (x.ins - b.ins) / idleSeconds,
          upd: (x.upd - b.upd) / idleSeconds,
          hot: (x.hot - b.hot) / idleSeconds,
          del: (x.del - b.del) / idleSeconds,
        };
    }
    const idleRows = Object.values(idle1.t).reduce(
      (a, x) => a + x.ins + x.upd + x.del,
      -Object.values(idle0.t).reduce((a, x) => a + x.ins + x.upd + x.del, 0),
    );
    console.error(
      `  idle ${r1(idleSeconds)} s: ${Object.values(bgRate)
        .reduce((a, b) => a + b, 0)
        .toFixed(
          1,
        )} background statements/s (${background.size} kinds), ${idleRows} rows, PG CPU ${r1((idle1.cpu - idle0.cpu) * 1000)} ms`,
    );

    const measure = async (path: string, n: number, work: () => Promise<void>) => {
      await backends.track();
      const s0 = await statements();
      const t0 = await tables();
      const c0 = await commits();
      const cpu0 = backends.cpu();
      const g0 = treeCpuSeconds(child.pid!);
      const at0 = performance.now();
      await work();
      await quiet(background);
      const seconds = (performance.now() - at0) / 1000;
      await backends.track();
      const s1 = await statements();
      const cpu1 = backends.cpu();
      const g1 = treeCpuSeconds(child.pid!);
      await sleep(SETTLE_MS);
      const t1 = await tables();
      const c1 = await commits();
      const window = (performance.now() - at0) / 1000;
      const perStatement: Counts = {};
      for (const [k, v] of Object.entries(s1)) {
        const d = v - (s0[k] ?? 0) - (bgRate[k] ?? 0) * seconds;
        if (d > 0.5) perStatement[k] = d / n;
      }
      const perTable: Record<
        string,
        Record<Verb, number> & { rowsIns: number; rowsUpd: number; rowsHot: number; rowsDel: number }
      > = {};
      const row = (t: string) =>
        (perTable[t] ??= {
          INSERT: 0,
          UPDATE: 0,
          DELETE: 0,
          SELECT: 0,
          tx: 0,
          other: 0,
          rowsIns: 0,
          rowsUpd: 0,
          rowsHot: 0,
          rowsDel: 0,
        });
      for (const [k, v] of Object.entries(perStatement)) {
        const { verb, table } = classify(k);
        row(table)[verb] += v;
      }
      // less the background's rows (the relay's lease, heartbeats) at the idle rate over the whole window
      const zero = { ins: 0, upd: 0, hot: 0, del: 0 };
      for (const [t, x] of Object.entries(t1)) {
        const b = t0[t] ?? zero;
        const bg = bgRows[t] ?? zero;
        const d = (k: keyof TableStats) => Math.max(0, x[k] - b[k] - bg[k] * window) / n;
        if (d('ins') + d('upd') + d('del') < 0.005) continue;
        const r = row(t);
        r.rowsIns = d('ins');
        r.rowsUpd = d('upd');
        r.rowsHot = d('hot');
        r.rowsDel = d('del');
      }
      const sum = (f: (x: (typeof perTable)[string]) => number) =>
        r1(Object.values(perTable).reduce((a, x) => a + f(x), 0));
      const result = {
        path,
        n,
        seconds: r1(seconds),
        statements: sum((x) => x.INSERT + x.UPDATE + x.DELETE + x.SELECT + x.tx + x.other),
        writeStatements: sum((x) => x.INSERT + x.UPDATE + x.DELETE),
        readStatements: sum((x) => x.SELECT),
        txStatements: sum((x) => x.tx),
        // the background's commits (polls) at the idle rate are left out
        commits: r1((c1 - c0 - bgCommitsPerSecond * window) / n),
        rowsInserted: sum((x) => x.rowsIns),
        rowsUpdated: sum((x) => x.rowsUpd),
        rowsDeleted: sum((x) => x.rowsDel),
        rows: sum((x) => x.rowsIns + x.rowsUpd + x.rowsDel),
        pgCpuMs: r1(((cpu1 - cpu0) * 1000) / n),
        pgCpuMsLessIdle: r1(((cpu1 - cpu0) * 1000 - bgCpuMsPerSecond * seconds) / n),
        gatewayCpuMs: r1(((g1 - g0) * 1000) / n),
        perTable: Object.fromEntries(
          Object.entries(perTable)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([t, x]) => [
              t,
              Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Math.round(v * 100) / 100])),
            ]),
        ),
        topStatements: Object.entries(perStatement)
          .sort(([, a], [, b]) => b - a)
          .slice(0, 40)
          .map(([sql, perAdmission]) => ({
            perAdmission: Math.round(perAdmission * 100) / 100,
            sql: sql.slice(0, 400),
          })),
      };
      console.error(
        `  ${path}: ${n} in ${result.seconds} s, ${result.statements} statements, ${result.rows} rows, PG CPU ${result.pgCpuMs} ms per admission`,
      );
      return result;
    };

    const results = [];
    results.push(
      await measure('fhir', N, async () => {
        const encs: string[] = [];
        for (let i = 0; i < N; i++) encs.push(await fhirAdmission());
        const until = performance.now() + 60_000;
        while (encs.some((e) => !rx.arrivals.has(e)) && performance.now() < until) await sleep(20);
        const missing = encs.filter((e) => !rx.arrivals.has(e)).length;
        if (missing > 0) throw new Error(`${missing} of ${N} notifications did not arrive`);
      }),
    );
    const notified0 = rx.arrivals.size;
    results.push(
      await measure('hl7', N, async () => {
        for (let i = 0; i < N; i++) await hl7Admission();
        // The HL7-built Encounters match the Subscription too: wait for their notifications (or 30 s).
        const until = performance.now() + 30_000;
        while (rx.arrivals.size < notified0 + N && performance.now() < until) await sleep(20);
      }),
    );
    const hl7Notified = rx.arrivals.size - notified0;
    const tasks = await requestedTasks(N);
    results.push(
      await measure('task', tasks.length, async () => {
        for (const t of tasks) await receive(t);
      }),
    );
    if (rx.badSignatures > 0) throw new Error(`${rx.badSignatures} notifications with a bad signature`);
    return {
      results,
      idle: {
        seconds: r1(idleSeconds),
        bgRate,
        rows: idleRows,
        rowsPerSecond: bgRows,
        commitsPerSecond: r1(bgCommitsPerSecond),
        pgCpuMsPerSecond: r1(bgCpuMsPerSecond),
      },
      hl7Notified,
    };
  } finally {
    clearInterval(sampler);
    await stats?.end().catch(() => undefined);
    await gw?.stop();
    rx.close();
    await admin.end();
    await redis.stop();
    built.remove();
  }
}

const { results, idle, hl7Notified } = await main();
const load = loadavg().map(r1);
console.log(
  `\nWrites per admission (PostgreSQL, one gateway process, rest-hook Subscription delivering; ${cpus().length} CPUs, load ${load.join(' ')}, quick=${quick})`,
);
console.log(
  '| path | n | statements/adm | writes | reads | tx control | commits/adm | rows ins/upd/del per adm | rows/adm | PG CPU ms/adm | gateway CPU ms/adm |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.path} | ${r.n} | ${r.statements} | ${r.writeStatements} | ${r.readStatements} | ${r.txStatements} | ${r.commits} | ${r.rowsInserted}/${r.rowsUpdated}/${r.rowsDeleted} | ${r.rows} | ${r.pgCpuMs} | ${r.gatewayCpuMs} |`,
  );
for (const r of results) {
  console.log(`\n${r.path}: per admission and table (statements by kind; rows from pg_stat_user_tables)`);
  console.log('| table | INSERT | UPDATE | DELETE | SELECT | other | rows ins | rows upd (HOT) | rows del |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [t, x] of Object.entries(r.perTable))
    console.log(
      `| ${t} | ${x.INSERT} | ${x.UPDATE} | ${x.DELETE} | ${x.SELECT} | ${r1((x.tx ?? 0) + (x.other ?? 0))} | ${x.rowsIns} | ${x.rowsUpd} (${x.rowsHot}) | ${x.rowsDel} |`,
    );
}
console.log(
  `\nBackground left out (idle ${idle.seconds} s): ${Object.values(idle.bgRate)
    .reduce((a, b) => a + b, 0)
    .toFixed(1)} statements/s, ${idle.rows} rows; HL7 Encounters notified: ${hl7Notified}`,
);
const out = join(root, 'bench', 'results', 'writes.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      benchmark: 'writes',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavg: load,
      quick,
      results,
      idle,
      hl7Notified,
    },
    null,
    2,
  ),
);
console.log(`\nwritten ${out}`);
