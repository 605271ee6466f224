/**
 * The HL7 message browser's searches on a log of 50 000 messages (issue 17): visit number (`visit`, PV1-19) and
 * personnummer (`pnr`, PID-3), with the newest page as a yardstick, through the admin routes of the code it runs
 * from (copy it into a clone of an older commit to measure that one on the same database). Steps, one per run:
 *   BENCH_STEP=fill     a new database BENCH_DB (default svu_hl7search) at the migrations below 174, BENCH_STAYS
 *                       (default 10 000) national stays of five messages each (bench/support/synthetic.ts, each
 *                       text padded to ≈ 1.4 kB as a hospital's ADT), received over 2025, then VACUUM ANALYZE;
 *   BENCH_STEP=migrate  the remaining migrations (174: the search keys' backfill and index), timed, then VACUUM ANALYZE;
 *   BENCH_STEP=read     BENCH_CALLS (default 20, after 2 not counted) calls of each search; p50 and p90 in ms;
 *   BENCH_STEP=drop     drops the database.
 *   DATABASE_URL=postgres://… BENCH_STEP=fill npx tsx bench/hl7-search.bench.ts
 * Without BENCH_STEP all four in turn. BENCH_STORE=pglite: the four on an in-memory PGlite.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import request from 'supertest';
import { intakeAdminRoutes } from '../src/intake/admin.routes';
import type { Db } from '../src/store/db.port';
import { openPostgres } from '../src/store/db.pg';
import { openPglite } from '../src/store/db.pglite';
import { migrate } from '../src/store/migrate';
import { dropDatabase } from '../test/support/db';
import { nationalStay, personnummer } from './support/synthetic';

const url = process.env.DATABASE_URL;
const pglite = process.env.BENCH_STORE === 'pglite';
if (!url && !pglite) {
  console.log('hl7-search: skipped (needs DATABASE_URL or BENCH_STORE=pglite)');
  process.exit(0);
}
const NAME = process.env.BENCH_DB ?? 'svu_hl7search';
const STEP = process.env.BENCH_STEP ?? 'all';
const STAYS = Number(process.env.BENCH_STAYS ?? 10_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const MIGRATIONS = fileURLToPath(new URL('../src/store/migrations/', import.meta.url));
const RUN = 'hs';
const PAD = 'NTE|1|L|' + 'Patienten har hemtjänst och behöver hjälp med förflyttning. '.repeat(14);
const STAY = Math.floor(STAYS / 2) + 7;

const dbUrl = () => {
  const u = new URL(url as string);
  u.pathname = `/${NAME}`;
  return u.toString();
};

/** The database at the migrations before 174 (the log as it was), from a copy of those files. */
async function migrateBefore174(db: Db): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svu-migrations-'));
  try {
    for (const f of await readdir(MIGRATIONS)) if (f < '174') await cp(join(MIGRATIONS, f), join(dir, f));
    await migrate(db, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fill(db: Db): Promise<void> {
  await migrateBefore174(db);
  const t = performance.now();
  for (let from = 0; from < STAYS; from += 1000) {
    const rows: [string, string, string][] = [];
    for (let i = from; i < Math.min(STAYS, from + 1000); i++)
      nationalStay(i, RUN).forEach((raw, n) => {
        const at = /\|(\d{14})\|\|ADT/.exec(raw)?.[1] as string;
        const iso = `${at.slice(0, 4)}-${at.slice(4, 6)}-${at.slice(6, 8)}T${at.slice(8, 10)}:${at.slice(10, 12)}:00Z`;
        rows.push([`${RUN}-${i}-${n}`, `${raw}\r${PAD}`, iso]);
      });
    await db.query(
      `INSERT INTO hl7_message (sender, control_id, raw, channel, status, received_at)
       SELECT 'EHR/SE2321000172-DEMO0001', c, r, 'mllp', 'accepted', a::timestamptz
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, r, a) ORDER BY a`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
  }
  const filled = performance.now() - t;
  await db.query('VACUUM ANALYZE hl7_message');
  const size = (
    await db.query<{ n: number; mb: number; avg: number }>(
      `SELECT count(*)::int AS n, (pg_total_relation_size('hl7_message') / 1e6)::int AS mb,
              avg(length(raw))::int AS avg FROM hl7_message`,
    )
  ).rows[0];
  console.log(`filled: ${JSON.stringify(size)} in ${(filled / 1000).toFixed(1)} s`);
}

async function timedMigrate(db: Db): Promise<void> {
  const t = performance.now();
  const applied = await migrate(db);
  const ms = performance.now() - t;
  const t2 = performance.now();
  await db.query('VACUUM ANALYZE hl7_message');
  const vacuum = performance.now() - t2;
  const size = (
    await db.query<{ mb: number; index_kb: number }>(
      `SELECT (pg_total_relation_size('hl7_message') / 1e6)::int AS mb,
              (pg_relation_size('hl7_message_search_keys') / 1e3)::int AS index_kb`,
    )
  ).rows[0];
  console.log(
    `migrated ${applied.join(', ')}: ${(ms / 1000).toFixed(2)} s, VACUUM ANALYZE ${(vacuum / 1000).toFixed(2)} s; ${JSON.stringify(size)}`,
  );
}

async function read(db: Db): Promise<void> {
  const app = express().use(intakeAdminRoutes(db, []));
  const pnr = personnummer(STAY);
  const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
  const reads: [string, string, number][] = [
    ['newest 50', '', 50],
    ['by visit number', q({ visit: `B-${RUN}-${STAY}` }), 5],
    ['by personnummer', q({ pnr: `${pnr.slice(0, 8)}-${pnr.slice(8)}` }), 5],
    ['by visit number (none)', q({ visit: 'B-none-1' }), 0],
  ];
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((p / 100) * xs.length)] ?? 0;
  for (const [what, query, expected] of reads) {
    const ms: number[] = [];
    for (let c = 0; c < CALLS + 2; c++) {
      const t = performance.now();
      const r = await request(app).get(`/admin/api/hl7/messages?${query}`);
      if (c >= 2) ms.push(performance.now() - t);
      if (r.status !== 200 || r.body.messages.length !== expected)
        throw new Error(`${what}: ${r.status}, ${r.body.messages?.length} messages (expected ${expected})`);
    }
    console.log(`${what.padEnd(24)} p50 ${pct(ms, 50).toFixed(1)} ms, p90 ${pct(ms, 90).toFixed(1)} ms`);
  }
}

/** PostgreSQL: drops the database, and creates it again when `create`. */
async function recreate(create: boolean): Promise<void> {
  const admin = openPostgres(url as string, { max: 1 });
  await dropDatabase(admin, NAME);
  if (create) await admin.query(`CREATE DATABASE ${NAME}`);
  await admin.close();
}

// without BENCH_STEP (as `npm run bench` runs it) all four in turn; PGlite (in memory) always so
const steps = pglite || STEP === 'all' ? ['fill', 'migrate', 'read', 'drop'] : [STEP];
if (!pglite && (steps.includes('fill') || STEP === 'drop')) await recreate(steps.includes('fill'));
if (STEP !== 'drop') {
  const db = pglite ? await openPglite() : openPostgres(dbUrl(), { max: 4 });
  for (const step of steps)
    if (step === 'fill') await fill(db);
    else if (step === 'migrate') await timedMigrate(db);
    else if (step === 'read') await read(db);
  await db.close();
  if (!pglite && steps.includes('drop')) await recreate(false);
}
