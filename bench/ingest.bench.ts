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
 * BENCH_QUICK=1 for a small run; BENCH_N (stays), BENCH_CONNECTIONS, BENCH_MODES (e.g. `stored`) override.
 *   npx tsx bench/ingest.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import type { Organization, Task } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/config';
import { luhnCheckDigit } from '../src/core/identity/personnummer';
import { createIntakeCapability } from '../src/intake';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import type { ClosableDb } from '../src/store/db.port';
import { openPglite } from '../src/store/db.pglite';
import { openPostgres } from '../src/store/db.pg';
import { migrate } from '../src/store/migrate';
import { createRepository } from '../src/store/repository.pg';

const quick = process.env.BENCH_QUICK === '1';
const STAYS = Number(process.env.BENCH_N ?? (quick ? 100 : 1000));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runId = randomBytes(3).toString('hex');

function personnummer(i: number): string {
  const d = new Date(Date.UTC(1930, 0, 1) + (i % 20000) * 86_400_000);
  const nine = `${d.toISOString().slice(2, 10).replace(/-/g, '')}${String(100 + Math.floor(i / 20000)).slice(-3)}`;
  return `${d.getUTCFullYear()}${nine.slice(2)}${luhnCheckDigit(nine)}`;
}

function adt(event: string, i: number, n: number): string {
  const visit = `B-${runId}-${i}`;
  const pv1 = ['PV1', '1', 'I', 'MED21', '', '', '', 'SE2321000172-P0001^Lind^Erik'];
  pv1[19] = visit;
  pv1[44] = '20260115103000';
  pv1[45] = event === 'A03' ? '20260120140000' : '';
  const evn = event === 'A01' ? '20260115103500' : event === 'A08' ? '20260117091500' : '20260120140500';
  return [
    `MSH|^~\\&|EHR|SE2321000172-DEMO0001|SVU|GW|${evn}||ADT^${event}^ADT_A01|${visit}-${n}|P|2.5`,
    `EVN|${event}|${evn}`,
    `PID|1||${personnummer(i)}^^^SE^PNR||Bench^Test||19380312|F|||Gatan 1^^Västerås^^72215^SE^H^^${i % 2 ? '1980' : '1981'}`,
    'PD1|||VC^^^^^^^^^SE2321000172-DEMO0101',
    Array.from(pv1, (v) => v ?? '').join('|'),
    ...(event === 'A08' ? ['PV2|||||||||20260124'] : []),
    ...(event === 'A03' ? [] : ['OBX|1|CWE|behov^Behov^SVU||socialtjanst~kommunal-hsl||||||F']),
  ].join('\r');
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0) : 0;
};

async function openStore(kind: 'pglite' | 'postgres'): Promise<{ db: ClosableDb; drop(): Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openPglite();
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const url = process.env.DATABASE_URL ?? '';
  const name = `svu_bench_ingest_${runId}`;
  const admin = openPostgres(url, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = openPostgres(u.toString(), { max: 20 });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.close();
      const a = openPostgres(url, { max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

async function run(kind: 'pglite' | 'postgres', ackAfter: 'stored' | 'applied') {
  const store = await openStore(kind);
  const db = store.db;
  const config = loadConfig({
    NODE_ENV: 'production',
    MLLP_PORT: '0',
    HOST: '127.0.0.1',
    AGREEMENT: 'vastmanland',
    LOG_LEVEL: 'error',
    HL7_ACK_AFTER: ackAfter,
  });
  const ctx = {
    config,
    db,
    redisUrl: 'redis://unused',
    logger: createLogger('error'),
    clock: systemClock,
    metrics: new Registry(),
  };
  const repo = createRepository(db, { system: true });
  for (const [name, system, value] of [
    ['Västerås stad', 'urn:oid:1.2.752.129.2.2.1.17', '1980'],
    ['Sala kommun', 'urn:oid:1.2.752.129.2.2.1.17', '1981'],
    ['Västmanlands sjukhus Västerås', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEMO0001'],
    ['Skultuna vårdcentral', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEMO0101'],
  ] as const) {
    await repo.create<Organization>({ resourceType: 'Organization', name, identifier: [{ system, value }] });
  }
  const intake = createIntakeCapability(ctx);
  await intake.start?.(new Set(['mllp']));
  const port = intake.mllpPort() ?? 0;

  // Work: each stay gets A01, then A08, then A03; a connection takes whole stays so a stay's order holds.
  const queue = Array.from({ length: STAYS }, (_, i) => i);
  const a01Ms: number[] = [];
  const ackMs: number[] = [];
  const a01Sent = new Map<string, number>();
  let applied = 0;
  let lastApplied = 0;
  intake.services.onApplied.add((job, outcome) => {
    const now = performance.now();
    if (outcome?.status === 'accepted') applied++;
    lastApplied = now;
    const sent = a01Sent.get(job.mapped.header.controlId);
    if (sent !== undefined) a01Ms.push(now - sent);
  });
  let acked = 0;
  let notAA = 0;
  const worker = async () => {
    const client = new Hl7Client({ host: '127.0.0.1', port });
    try {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        for (const [n, event] of ['A01', 'A08', 'A03'].entries()) {
          const t0 = performance.now();
          const msg = Hl7Message.parse(adt(event, i, n));
          if (event === 'A01') a01Sent.set(msg.getSegment('MSH')?.getField(10)?.toString() ?? '', t0);
          const ack = await client.sendAndWait(msg, { timeoutMs: 120_000 });
          ackMs.push(performance.now() - t0);
          if (ack.getSegment('MSA')?.getField(1)?.toString() !== 'AA') notAA++;
          acked++;
        }
      }
    } finally {
      await client.close();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await intake.settled();
  const applySeconds = (lastApplied - t0) / 1000;
  const tasks = await repo.search<Task>('Task', { code: 'inskrivningsmeddelande', _count: '1', _total: 'accurate' });
  await intake.stop?.();
  await store.drop();
  return {
    store: kind,
    ackAfter,
    connections: CONNECTIONS,
    messages: acked,
    notAA,
    applied,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(acked / seconds),
    appliedPerSecond: Math.round(applied / applySeconds),
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
const rows = [];
for (const kind of stores) for (const mode of modes) rows.push(await run(kind, mode));
console.table(rows);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'ingest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, cpus: cpus().length, stays: STAYS, rows }, null, 2)}\n`,
);
process.exit(0);
