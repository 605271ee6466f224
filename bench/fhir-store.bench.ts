/**
 * FHIR store + router benchmark (no auth, audit or intake hooks): Patient + Encounter transaction Bundles through
 * `createFhirRouter` over real HTTP in this process, and the same Bundles straight into the repository.
 * Isolates what the store and the REST layer cost from the rest of the gateway (bench/api.bench.ts measures all).
 * PGlite always; PostgreSQL when DATABASE_URL is set (a fresh database, dropped afterwards).
 * BENCH_QUICK=1 for a small run; BENCH_N, BENCH_CONCURRENCY override.
 *   npx tsx bench/fhir-store.bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Bundle } from '@medplum/fhirtypes';
import { admissionBundle } from './support/synthetic';
import { createFhirRouter } from '../src/fhir-api/fhir.router';
import { createValidator } from '../src/fhir/validator';
import { createLogger } from '../src/platform/logger';
import { createRepository } from '../src/store/repository.pg';
import { openTestDb } from '../test/support/db';

const quick = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_N ?? (quick ? 400 : 4000));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runId = randomBytes(3).toString('hex');
let seq = 0;

function bundle(): Bundle {
  return admissionBundle(seq++, runId, { hospital: 'Organization/hosp' });
}

interface Row {
  store: string;
  path: string;
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function closedLoop(
  store: string,
  path: string,
  n: number,
  conc: number,
  one: () => Promise<void>,
): Promise<Row> {
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  let firstError: unknown;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        next++;
        const s = performance.now();
        try {
          await one();
          lat.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ??= e;
        }
      }
    }),
  );
  if (firstError)
    console.error(`  first error: ${firstError instanceof Error ? firstError.message : JSON.stringify(firstError)}`);
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round((lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN) * 10) / 10;
  return { store, path, requests: n, errors, perSecond: Math.round(lat.length / secs), p50Ms: pct(50), p99Ms: pct(99) };
}

const rows: Row[] = [];
const validator = await createValidator();
const kinds: ('pglite' | 'postgres')[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
for (const kind of kinds) {
  const db = await openTestDb(kind, { max: 20 }); // a fresh database, dropped by close()
  const repo = createRepository(db, { system: true });
  rows.push(
    await closedLoop(
      kind,
      'repository.processBundle',
      N,
      CONCURRENCY,
      async () => void (await repo.processBundle(bundle())),
    ),
  );
  const app = express();
  app.use((_req, res, next) => {
    res.locals.auth = { clientId: 'bench', scopes: ['system/*.*'], access: { system: true }, admin: true };
    next();
  });
  app.use(
    '/fhir',
    createFhirRouter({
      db,
      validator,
      baseUrl: 'http://localhost/fhir',
      logger: createLogger('error'),
      maxBodyBytes: 1_000_000,
    }),
  );
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rows.push(
    await closedLoop(kind, 'HTTP POST /fhir (router + validator)', N, CONCURRENCY, async () => {
      const res = await fetch(`${base}/fhir`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(bundle()),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    }),
  );
  await new Promise((r) => server.close(r));
  await db.close();
}

console.log(
  `\nFHIR store benchmark: Patient+Encounter transaction Bundles, ${CONCURRENCY} in flight (${cpus().length} CPUs, quick=${quick})`,
);
console.log('| store | path | requests | errors | per s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.store} | ${r.path} | ${r.requests} | ${r.errors} | ${r.perSecond} | ${r.p50Ms} | ${r.p99Ms} |`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/fhir-store.json'),
  JSON.stringify({ date: new Date().toISOString(), quick, concurrency: CONCURRENCY, rows }, null, 2),
);
console.log('\nwritten bench/results/fhir-store.json');
