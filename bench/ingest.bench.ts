/**
 * Ingest benchmark: HL7 v2 ADT over MLLP into the whole intake path (raw store, mapping, engine, Patient +
 * Encounter + Task writes with outbox rows), for both acknowledgement points (HL7_ACK_AFTER):
 *   - `stored` (default): AA once the raw message is committed; the apply follows in lanes and batches;
 *   - `applied`: AA after the commit that stores the facts, Encounter and Tasks.
 * Figures: messages/s acknowledged over 8 concurrent MLLP connections (each in HL7 original mode: one message
 * in flight per connection), mixed A01 / A08 / A03 for distinct stays; messages/s applied (until all are
 * applied); ACK latency; A01 → Task stored = from sending the A01 to the commit of its apply (p50/p99); the
 * Tasks are counted afterwards.
 * PGlite always; PostgreSQL too when DATABASE_URL is set (a fresh database, dropped afterwards).
 * A last run on PostgreSQL offers a fixed rate (BENCH_RATE, default 300 msg/s; latencies from each message's
 * scheduled time). BENCH_QUICK=1 for a small run; BENCH_N (stays), BENCH_CONNECTIONS, BENCH_MODES (e.g. `stored`),
 * BENCH_STORES (e.g. `postgres`) override. Each store first gets a warm-up run (BENCH_WARMUP stays, default 500; 0 for
 * none) whose figures are printed but not kept. On PostgreSQL a row also has the cluster's WAL and full-page images a
 * message and the checkpoints of the run, and the result the server's settings (bench/support/pg-server.ts).
 *   npx tsx bench/ingest.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task } from '@medplum/fhirtypes';
import { trackPostgresCpu } from './support/gateway';
import { serverSettings, walCounters, walPerMessage, type ServerSettings } from './support/pg-server';
import { sendStays, startIntake } from './support/intake-harness';

const quick = process.env.BENCH_QUICK === '1';
const STAYS = Number(process.env.BENCH_N ?? (quick ? 100 : 1000));
// Stays sent once per store before the measured runs (a fresh database, results printed, not kept): the gateway's
// code is JIT-compiled during its first thousands of messages (a cold first run of 3 000 used about 1.0 ms of gateway
// CPU per message, later runs 0.6), and a gateway in service is warm.
const WARMUP = Number(process.env.BENCH_WARMUP ?? (quick ? 0 : 500));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runId = randomBytes(3).toString('hex');

/** The PostgreSQL server's settings, read in the first run on it (the figures are labelled with them). */
let server: ServerSettings | undefined;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0) : 0;
};

async function run(kind: 'pglite' | 'postgres', ackAfter: 'stored' | 'applied', rate?: number, stays = STAYS) {
  const { db, repo, intake, port, close } = await startIntake(kind, ackAfter);

  // CPU seconds spent by this process (the gateway) and by the database's backends, from here to the end.
  const cpu0 = process.cpuUsage();
  const pgCpu = await trackPostgresCpu(db);
  // WAL and checkpoints are the cluster's: on a cluster others write to, theirs are counted too.
  const wal0 = kind === 'postgres' ? await walCounters(db) : undefined;
  if (kind === 'postgres') server ??= await serverSettings(db);
  // Senders in a child process (hospitals are other machines); the gateway's apply is observed here.
  const a01Applied = new Map<string, number>();
  let applied = 0;
  let lastApplied = 0;
  const wallNow = () => performance.timeOrigin + performance.now();
  intake.services.onApplied.add((job, outcome) => {
    const now = wallNow();
    if (outcome?.status === 'accepted') applied++;
    lastApplied = now;
    if (job.mapped.header.event === 'A01') a01Applied.set(job.mapped.header.controlId, now);
  });
  const report = await sendStays({ port, stays, connections: CONNECTIONS, runId, rate });
  const acked = report.ackMs.length;
  const notAA = report.notAA;
  const ackMs = report.ackMs;
  const seconds = (report.end - report.start) / 1000;
  console.error(
    `${kind}/${ackAfter}: ${acked} acknowledged in ${seconds.toFixed(2)} s (${Math.round(acked / seconds)}/s); ${applied} applied so far`,
  );
  await intake.settled();
  const applySeconds = (lastApplied - report.start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const gatewayCpuMsPerMessage = (cpu.user + cpu.system) / 1000 / acked;
  pgCpu?.stop();
  const postgresCpuMsPerMessage = pgCpu ? (pgCpu.seconds() * 1000) / acked : undefined;
  const a01Ms = report.a01Sent.flatMap(([control, sent]) => {
    const at = a01Applied.get(control);
    return at === undefined ? [] : [at - sent];
  });
  const wal = wal0 ? walPerMessage(wal0, await walCounters(db), acked) : undefined;
  const tasks = await repo.search<Task>('Task', { code: 'inskrivningsmeddelande', _count: '1', _total: 'accurate' });
  await close();
  return {
    store: kind,
    ackAfter,
    offered: rate ? `${rate}/s` : 'max',
    connections: CONNECTIONS,
    messages: acked,
    notAA,
    applied,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(acked / seconds),
    appliedPerSecond: Math.round(applied / applySeconds),
    gatewayCpuMsPerMsg: Number(gatewayCpuMsPerMessage.toFixed(2)),
    ...(postgresCpuMsPerMessage === undefined
      ? {}
      : { postgresCpuMsPerMsg: Number(postgresCpuMsPerMessage.toFixed(2)) }),
    senderCpuMsPerMsg: Number((report.cpuMs / acked).toFixed(2)),
    ...wal,
    ackP50Ms: Number(pct(ackMs, 50).toFixed(1)),
    ackP99Ms: Number(pct(ackMs, 99).toFixed(1)),
    a01ToTaskP50Ms: Number(pct(a01Ms, 50).toFixed(1)),
    a01ToTaskP99Ms: Number(pct(a01Ms, 99).toFixed(1)),
    admissionTasksStored: tasks.total ?? tasks.resources.length,
  };
}

const modes = (process.env.BENCH_MODES ?? 'stored,applied').split(',') as ('stored' | 'applied')[];
const stores: ('pglite' | 'postgres')[] = (process.env.BENCH_STORES ?? 'pglite,postgres')
  .split(',')
  .filter((k) => k === 'pglite' || (k === 'postgres' && Boolean(process.env.DATABASE_URL))) as (
  'pglite' | 'postgres'
)[];
// Besides the closed loop (as fast as the senders get ACKs), a fixed offered rate on PostgreSQL with the default ACK
// point: the latency a hospital feed below the capacity sees (BENCH_RATE, 0 to skip).
const fixedRate = Number(process.env.BENCH_RATE ?? 300);
const rows = [];
for (const kind of stores) {
  if (WARMUP > 0) console.table([{ warmUp: true, ...(await run(kind, 'stored', undefined, WARMUP)) }]);
  for (const mode of modes) rows.push(await run(kind, mode));
}
if (fixedRate > 0 && stores.includes('postgres') && modes.includes('stored')) {
  rows.push(await run('postgres', 'stored', fixedRate));
}
if (server) console.log(`PostgreSQL: ${JSON.stringify(server)}`);
console.table(rows);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'ingest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, cpus: cpus().length, stays: STAYS, warmUpStays: WARMUP, server, rows }, null, 2)}\n`,
);
process.exit(0);
