/**
 * A national year replayed through the real intake (issue 17 item 4): synthetic stays sent as HL7 v2 ADT over MLLP
 * by the hospital senders (a child process), stored raw, mapped, folded by the engine and written as Patient,
 * Encounter, Tasks, facts and outbox rows on PostgreSQL, ACK on store (the default). Each stay sends five messages
 * (admission, update with the expected discharge date, transfer, ready-for-discharge notice, discharge:
 * `nationalStay` in bench/support/synthetic.ts), so 1.38 M stays are ≈ 6.9 M messages, the ≈ 7 M events a year of
 * the issue. The target: a national year in under 45 minutes.
 *
 * The run samples the applied rate every BENCH_SAMPLE_S seconds (default 10) as the store grows, and projects the
 * national year from the rate after the first tenth of the run (the gateway warm, the store already holding
 * stays). With BENCH_STAYS=1380000 it is the national year itself (≈ 2.3 h on the 2-core machine of 2026-12).
 *   DATABASE_URL=postgres://… BENCH_STAYS=20000 npx tsx bench/national-replay.bench.ts   (default 20 000 stays)
 * BENCH_CONNECTIONS (default 8) and HL7_APPLY_* pass through. Needs DATABASE_URL (a fresh database, dropped after).
 * After the run it prints what was written per message (bench/support/write-counts.ts: rows per table, transactions,
 * round trips, versions, replaced versions); with HL7_APPLY_BATCH=1 HL7_APPLY_LINGER_MS=0 each message is applied
 * in its own transaction, as when a stay's messages arrive hours apart (the senders send a stay's five at once).
 * The result has the cluster's WAL and full-page images a message, the checkpoints of the run and the server's
 * settings (bench/support/pg-server.ts): figures on PostgreSQL as installed and as tuned differ in these.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { r1 } from './support/gateway';
import { trackPostgresCpu } from './support/gateway';
import { sendStays, startIntake } from './support/intake-harness';
import { serverSettings, walCounters, walPerMessage } from './support/pg-server';
import { countWrites } from './support/write-counts';

const NATIONAL_STAYS = 1_380_000;
const MESSAGES_PER_STAY = 5;
const TARGET_MINUTES = 45;
const quick = process.env.BENCH_QUICK === '1';
const STAYS = Number(process.env.BENCH_STAYS ?? (quick ? 1000 : 20_000));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_S ?? 10) * 1000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!process.env.DATABASE_URL) {
  console.log('national-replay: skipped (needs DATABASE_URL: the national year is measured on PostgreSQL)');
  process.exit(0);
}

const mb = (b: number) => Math.round(b / 1048576);

const { db, repo, intake, port, close } = await startIntake('postgres', 'stored');
const outcomes = new Map<string, number>();
let applied = 0;
intake.services.onApplied.add((_job, outcome) => {
  const status = outcome?.status ?? 'none';
  outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
  applied++;
});

interface Sample {
  seconds: number;
  stays: number;
  messagesApplied: number;
  appliedPerSecond: number;
  gatewayCpuMsPerMsg: number;
  postgresCpuMsPerMsg: number;
  rssMb: number;
  load1: number;
}
const samples: Sample[] = [];
const writes = await countWrites(db);
const server = await serverSettings(db);
// WAL and checkpoints are the cluster's: on a cluster others write to, theirs are counted too.
const wal0 = await walCounters(db);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const pgCpu = (await trackPostgresCpu(db))!;
let last = { t: t0, applied: 0, cpu: 0, pg: 0 };
let peakRss = process.memoryUsage().rss;

/** One sample: the window since the last one. */
function sample(): void {
  const t = performance.now();
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1000;
  const pg = pgCpu.seconds();
  const n = applied - last.applied;
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  if (n > 0) {
    samples.push({
      seconds: r1((t - t0) / 1000),
      stays: Math.floor(applied / MESSAGES_PER_STAY),
      messagesApplied: applied,
      appliedPerSecond: Math.round((n * 1000) / (t - last.t)),
      gatewayCpuMsPerMsg: Number(((cpu - last.cpu) / n).toFixed(2)),
      postgresCpuMsPerMsg: Number((((pg - last.pg) * 1000) / n).toFixed(2)),
      rssMb: mb(rss),
      load1: r1(loadavg()[0] ?? 0),
    });
    console.error(
      `${samples.at(-1)!.seconds} s: ${applied} messages applied (${samples.at(-1)!.appliedPerSecond}/s in the last window)`,
    );
  }
  last = { t, applied, cpu, pg };
}
const timer = setInterval(sample, SAMPLE_MS);

const report = await sendStays({
  port,
  stays: STAYS,
  connections: CONNECTIONS,
  runId: randomBytes(3).toString('hex'),
  mix: 'national',
});
await intake.settled();
clearInterval(timer);
sample();
const seconds = (performance.now() - t0) / 1000;
const messages = report.ackMs.length;
const c = process.cpuUsage(cpu0);
pgCpu.stop();
const pg1 = pgCpu.seconds();
const wal = walPerMessage(wal0, await walCounters(db), messages);

const written = await writes.finish(messages);

// What was stored, counted in the database (not from the bench's own tallies).
const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
const stored = {
  encounters: await count(`SELECT count(*) AS n FROM fhir_resource WHERE resource_type = 'Encounter' AND NOT deleted`),
  tasks: await count(`SELECT count(*) AS n FROM fhir_resource WHERE resource_type = 'Task' AND NOT deleted`),
  hl7MessagesNotAccepted: await count(`SELECT count(*) AS n FROM hl7_message WHERE status <> 'accepted'`),
  databaseMb: mb(await count('SELECT pg_database_size(current_database()) AS n')),
};
// Where the space goes: the largest tables with their indexes and TOAST, in MB.
const largest = (
  await db.query<{ t: string; mb: string }>(
    `SELECT relname AS t, round(pg_total_relation_size(c.oid) / 1048576.0) AS mb FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 10`,
  )
).rows.map((r) => ({ table: r.t, mb: Number(r.mb), kbPerStay: Number(((Number(r.mb) * 1024) / STAYS).toFixed(1)) }));
// The search index's own indexes (their entries are most of what a write costs PostgreSQL), in MB.
const searchIndexes = (
  await db.query<{ i: string; mb: string }>(
    `SELECT indexrelid::regclass::text AS i, round(pg_relation_size(indexrelid) / 1048576.0) AS mb FROM pg_index
      WHERE indrelid = 'fhir_search'::regclass ORDER BY pg_relation_size(indexrelid) DESC`,
  )
).rows.map((r) => ({ index: r.i, mb: Number(r.mb), kbPerStay: Number(((Number(r.mb) * 1024) / STAYS).toFixed(1)) }));
// What a stay writes: versions per resource type, and search-index rows per (type, parameter), per stay.
const perStay = (n: string) => Number((Number(n) / STAYS).toFixed(2));
const versions = (
  await db.query<{ t: string; n: string }>(
    `SELECT resource_type AS t, count(*)::text AS n FROM fhir_resource_history GROUP BY 1 ORDER BY count(*) DESC`,
  )
).rows.map((r) => ({ type: r.t, versionsPerStay: perStay(r.n) }));
const indexRowsPerStay = (
  await db.query<{ t: string; p: string; n: string }>(
    `SELECT resource_type AS t, param AS p, count(*)::text AS n FROM fhir_search GROUP BY 1, 2 ORDER BY count(*) DESC`,
  )
).rows.map((r) => ({ type: r.t, param: r.p, rowsPerStay: perStay(r.n) }));
const admissionTasks = await repo.search('Task', { code: 'inskrivningsmeddelande', _count: '1', _total: 'accurate' });

// The steady rate: from the first sample past a tenth of the messages to the end.
const first = samples.find((s) => s.messagesApplied >= messages / 10) ?? samples[0];
const steadyPerSecond =
  first && seconds > first.seconds ? (applied - first.messagesApplied) / (seconds - first.seconds) : applied / seconds;
const nationalMinutes = (NATIONAL_STAYS * MESSAGES_PER_STAY) / steadyPerSecond / 60;
const result = {
  stays: STAYS,
  messages,
  notAA: report.notAA,
  outcomes: Object.fromEntries(outcomes),
  seconds: r1(seconds),
  ackedPerSecond: Math.round(messages / ((report.end - report.start) / 1000)),
  appliedPerSecond: Math.round(applied / seconds),
  steadyAppliedPerSecond: Math.round(steadyPerSecond),
  staysPerSecond: r1(steadyPerSecond / MESSAGES_PER_STAY),
  gatewayCpuMsPerMsg: Number(((c.user + c.system) / 1000 / messages).toFixed(2)),
  postgresCpuMsPerMsg: Number(((pg1 * 1000) / messages).toFixed(2)),
  senderCpuMsPerMsg: Number((report.cpuMs / messages).toFixed(2)),
  ...wal,
  peakRssMb: mb(peakRss),
  ...stored,
  admissionTasks: admissionTasks.total ?? 0,
  nationalYearMinutes: Math.round(nationalMinutes),
  targetMinutes: TARGET_MINUTES,
  met: nationalMinutes < TARGET_MINUTES,
};
await close();

console.table(samples);
console.table(largest);
console.table(searchIndexes);
console.table(versions);
console.table(indexRowsPerStay.slice(0, 30));
console.log('Rows written per message, by table:');
console.table(written.tables);
console.log('Versions written per message, by type:');
console.table(written.versions);
console.log('Replaced versions per message: only meta changed, in the same transaction as the one before, index rows:');
console.table(written.replacedVersions);
console.log(
  `per message: ${written.transactionsPerMsg} transactions, ${written.roundTripsPerMsg} round trips to PostgreSQL ` +
    `(statements sent together count once; the bench's CPU sampling adds one a second)`,
);
console.log(`search-index rows per stay: ${r1(indexRowsPerStay.reduce((a, r) => a + r.rowsPerStay, 0))}`);
console.log(`PostgreSQL: ${JSON.stringify(server)}`);
console.table([result]);
console.log(
  `A national year (${NATIONAL_STAYS} stays, ${NATIONAL_STAYS * MESSAGES_PER_STAY} messages) at ${result.steadyAppliedPerSecond} messages/s: ` +
    `${result.nationalYearMinutes} min (target < ${TARGET_MINUTES} min: ${result.met ? 'met' : 'not met'})`,
);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'national-replay.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, cpus: cpus().length, connections: CONNECTIONS, preparedStatements: process.env.PG_PREPARED_STATEMENTS !== 'false', server, result, largest, searchIndexes, versions, indexRowsPerStay, written, samples }, null, 2)}\n`,
);
process.exit(0);
