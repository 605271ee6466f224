/**
 * Selective searches on a large store (issue 17): the searches a client makes that find none or a few rows
 * (`Patient?identifier=` for a person with no record, `Encounter?identifier=`, `Task?encounter=`, a municipality's
 * `Task?owner=…&status=requested`), and those whose conditions each match many Tasks but together few or none (an
 * owner's completed Tasks, an owner with none, the requested Tasks of a vårdcentral owning none), each run 20 times
 * through the store's own search (`repo.search`, one connection, named statements as in the gateway, so PostgreSQL
 * may switch to a generic plan after five calls) as an admin, as a municipality and as a vårdcentral (whose tenant
 * rules add EXISTS subqueries). Reported per search: p50 and max of the 20 calls, and
 * PostgreSQL's plan (EXPLAIN ANALYZE of the statement prepared) in one line, custom (made for these values) and
 * generic (for any values: what a named statement runs after five calls).
 *
 * The store is filled through the real intake (the national replay's stays as HL7 over MLLP: Patient, Encounter and
 * Tasks as the engine writes them), with autovacuum off on its tables, and measured twice: right after filling
 * (no statistics: a young store) and after ANALYZE.
 *   DATABASE_URL=postgres://… BENCH_STAYS=20000 npx tsx bench/search-large.bench.ts   (≈ 3 min to fill; BENCH_QUICK=1: 1 000)
 * BENCH_DB names the database (default svu_bigsearch, created and dropped); BENCH_KEEP=1 keeps it, and a kept,
 * filled database is measured again without filling (BENCH_REUSE=1; BENCH_ANALYZE=0 leaves a database without
 * statistics as it is). A statement is cancelled after a minute. PG_JIT=true measures with the server's JIT (the
 * gateway's setting; default off), and each plan reports how long compiling it took. Results in
 * bench/results/search-large.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { openPostgres } from '../src/store/db.pg';
import type { Db, QueryResult } from '../src/store/db.port';
import { migrate } from '../src/store/migrate';
import { createRepository } from '../src/store/repository.pg';
import type { AccessScope, SearchParams } from '../src/store/repository.port';
import { dropDatabase } from '../test/support/db';
import { r1 } from './support/gateway';
import { sendStays, startIntake } from './support/intake-harness';

const url = process.env.DATABASE_URL;
if (!url) {
  console.log('search-large: skipped (needs DATABASE_URL: the plans measured are PostgreSQL’s)');
  process.exit(0);
}
const STAYS = Number(process.env.BENCH_STAYS ?? (process.env.BENCH_QUICK === '1' ? 1000 : 20_000));
const NAME = process.env.BENCH_DB ?? 'svu_bigsearch';
const KEEP = process.env.BENCH_KEEP === '1';
const REUSE = process.env.BENCH_REUSE === '1';
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dbUrl = Object.assign(new URL(url), { pathname: `/${NAME}` }).toString();
/** The measuring connection gives up on a statement after a minute (a young store's worst plans run for hours). */
const measureUrl = `${dbUrl}${dbUrl.includes('?') ? '&' : '?'}options=-c%20statement_timeout%3D60000`;

const admin = openPostgres(url, { max: 1 });
if (!REUSE) {
  await dropDatabase(admin, NAME);
  await admin.query(`CREATE DATABASE ${NAME}`);
  const fillDb = openPostgres(dbUrl, { max: 20 });
  await migrate(fillDb);
  // a young store: no statistics until the ANALYZE below
  for (const t of ['fhir_resource', 'fhir_search', 'fhir_resource_history'])
    await fillDb.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
  const t0 = performance.now();
  const { intake, port, close } = await startIntake('postgres', 'stored', fillDb);
  await sendStays({ port, stays: STAYS, connections: 8, runId: randomBytes(3).toString('hex'), mix: 'national' });
  await intake.settled();
  await close();
  console.log(`filled ${STAYS} stays in ${r1((performance.now() - t0) / 1000)} s`);
}

/** The store's handle on one connection, recording each statement it runs (for EXPLAIN). */
const JIT = process.env.PG_JIT === 'true';
let pool = openPostgres(measureUrl, { max: 1, jit: JIT });
let last: { sql: string; params: readonly unknown[] } | undefined;
const db: Db = {
  kind: 'postgres',
  query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    last = { sql, params };
    return pool.query<R>(sql, params);
  },
  transaction: (fn) => pool.transaction(fn),
};
const one = async <T>(sql: string, params: unknown[] = []) => (await pool.query<T>(sql, params)).rows[0] as T;

const size = await one<{ patients: number; encounters: number; tasks: number; index_rows: number; mb: number }>(
  `SELECT (SELECT count(*)::int FROM fhir_resource WHERE resource_type = 'Patient') AS patients,
          (SELECT count(*)::int FROM fhir_resource WHERE resource_type = 'Encounter') AS encounters,
          (SELECT count(*)::int FROM fhir_resource WHERE resource_type = 'Task') AS tasks,
          (SELECT count(*)::int FROM fhir_search) AS index_rows,
          (pg_database_size(current_database()) / 1048576)::int AS mb`,
);
console.table([size]);

// Values from the store: an existing person's and stay's identifiers (by their systems), a Task's Encounter, Sala.
const pick = async (sql: string) => (await one<{ v: string }>(sql)).v;
const pnr = await one<{ system: string; value: string }>(
  `SELECT system, value FROM fhir_search WHERE resource_type = 'Patient' AND param = 'identifier' ORDER BY resource_id DESC LIMIT 1`,
);
const visit = await one<{ system: string; value: string }>(
  `SELECT system, value FROM fhir_search WHERE resource_type = 'Encounter' AND param = 'identifier' ORDER BY resource_id DESC LIMIT 1`,
);
const encounter = await pick(
  `SELECT value AS v FROM fhir_search WHERE resource_type = 'Task' AND param = 'encounter' ORDER BY resource_id DESC LIMIT 1`,
);
const sala = await pick(
  `SELECT resource_id AS v FROM fhir_search WHERE resource_type = 'Organization' AND param = 'identifier' AND value = '1981'`,
);
// an Organization that owns no Task (a vårdcentral's, when the directory has one: the intake assigns none)
const idle = await pick(
  `SELECT COALESCE(
     (SELECT o.id FROM fhir_resource o WHERE o.resource_type = 'Organization' AND NOT o.deleted
         AND NOT EXISTS (SELECT 1 FROM fhir_search t WHERE t.resource_type = 'Task' AND t.param = 'owner' AND t.value = o.id)
       ORDER BY o.content LIKE '%rdcentral%' DESC, o.id LIMIT 1),
     'no-such-organization') AS v`,
);

const searches: [string, string, SearchParams][] = [
  ['Patient', 'identifier, no such person', { identifier: `${pnr.system}|199001019999` }],
  ['Patient', 'identifier, a person', { identifier: `${pnr.system}|${pnr.value}` }],
  ['Encounter', 'identifier, no such stay', { identifier: `${visit.system}|no-such-visit` }],
  ['Encounter', 'identifier, a stay', { identifier: `${visit.system}|${visit.value}` }],
  ['Task', 'encounter, a stay', { encounter: `Encounter/${encounter}` }],
  ['Task', 'encounter, no such stay', { encounter: 'Encounter/no-such-stay' }],
  ['Task', 'encounter, a stay, requested', { encounter: `Encounter/${encounter}`, status: 'requested' }],
  ['Task', 'owner Sala, requested', { owner: `Organization/${sala}`, status: 'requested' }],
  ['Task', 'owner Sala, completed', { owner: `Organization/${sala}`, status: 'completed' }],
  ['Task', 'owner with no Tasks, requested', { owner: `Organization/${idle}`, status: 'requested' }],
  ['Task', 'requested', { status: 'requested' }],
  ['Task', 'no parameters', {}],
];
const scopes: [string, AccessScope][] = [
  ['admin', { role: 'admin', clientId: 'bench-admin' }],
  ['Sala', { role: 'municipality', clientId: 'bench-sala', organization: `Organization/${sala}` }],
  ['vårdcentral', { role: 'primary-care', clientId: 'bench-vc', organization: `Organization/${idle}` }],
];

/** A plan in one line: each node with its relation or index, children in brackets. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}
function oneLine(n: PlanNode): string {
  const on = n['Index Name'] ?? n['Relation Name'];
  const self = `${n['Node Type']}${on ? ` ${on}` : ''}`;
  return n.Plans?.length ? `${self} [${n.Plans.map(oneLine).join(', ')}]` : self;
}
/** A value as an SQL literal (for EXECUTE of a prepared statement). */
const literal = (v: unknown): string =>
  Array.isArray(v) ? `ARRAY[${v.map(literal).join(', ')}]::text[]` : `'${String(v).replace(/'/g, "''")}'`;
/** EXPLAIN ANALYZE of the statement prepared, with the plan made for these values (custom) or for any (generic). */
async function explain(sql: string, params: readonly unknown[], generic: boolean) {
  await pool.query(`SET plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
  await pool.query(`PREPARE bench_search AS ${sql}`);
  try {
    const r = await pool.query<{
      'QUERY PLAN': [
        { Plan: PlanNode; 'Execution Time': number; 'Planning Time': number; JIT?: { Timing: { Total: number } } },
      ];
    }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_search(${params.map(literal).join(', ')})`);
    const p = r.rows[0]!['QUERY PLAN'][0];
    // JIT's compiling time is part of the execution time; 0 when the statement was not compiled
    const jitMs = r1(p.JIT?.Timing.Total ?? 0);
    return { ms: r1(p['Execution Time']), planningMs: r1(p['Planning Time']), jitMs, plan: oneLine(p.Plan) };
  } catch (err) {
    return { ms: NaN, planningMs: NaN, jitMs: NaN, plan: `not finished: ${(err as Error).message}` };
  } finally {
    await pool.query('DEALLOCATE bench_search');
    await pool.query('RESET plan_cache_mode');
  }
}

const results: Record<string, unknown>[] = [];
async function measure(phase: string): Promise<void> {
  for (const [scopeName, scope] of scopes) {
    const repo = createRepository(db, scope);
    for (const [type, what, params] of searches) {
      const ms: number[] = [];
      let found = 0;
      // a slow plan gets fewer calls (at least three): a young store's worst case can take seconds a call
      for (let i = 0; i < CALLS && (i < 3 || ms.reduce((a, b) => a + b, 0) < 20_000); i++) {
        const t = performance.now();
        try {
          found = (await repo.search<Resource>(type as Resource['resourceType'], params)).resources.length;
        } catch (err) {
          if ((err as { code?: string }).code !== '57014') throw err;
          found = NaN; // cancelled after a minute
        }
        ms.push(performance.now() - t);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      const q = last!;
      const custom = await explain(q.sql, q.params, false);
      const generic = await explain(q.sql, q.params, true);
      const row = {
        phase,
        scope: scopeName,
        search: `${type}?${what}`,
        found,
        calls: ms.length,
        p50: r1(sorted[Math.floor(ms.length / 2)]!),
        max: r1(sorted.at(-1)!),
        customMs: custom.ms,
        customPlanningMs: custom.planningMs,
        customJitMs: custom.jitMs,
        genericMs: generic.ms,
        genericJitMs: generic.jitMs,
        customPlan: custom.plan,
        genericPlan: generic.plan,
      };
      results.push(row);
      console.log(
        `${phase} ${scopeName} ${row.search}: ${row.found} found, p50 ${row.p50} ms, max ${row.max} ms; custom ${custom.ms} ms (JIT ${custom.jitMs}) ${custom.plan}; generic ${generic.ms} ms (JIT ${generic.jitMs}) ${generic.plan}`,
      );
    }
  }
}

const stats = await one<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'fhir_search'`);
await measure(stats.n === 0 ? 'no statistics' : 'analyzed');
if (stats.n === 0 && process.env.BENCH_ANALYZE !== '0') {
  await pool.query('ANALYZE');
  // a new connection: the named statements' plans were made without statistics
  await pool.close();
  pool = openPostgres(measureUrl, { max: 1, jit: JIT });
  await measure('analyzed');
}
await pool.close();
if (!KEEP) await dropDatabase(admin, NAME);
await admin.close();

console.table(results.map(({ customPlan: _c, genericPlan: _g, ...r }) => r));
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'search-large.json'),
  `${JSON.stringify({ date: new Date().toISOString(), stays: STAYS, jit: JIT, size, results }, null, 2)}\n`,
);
process.exit(0);
