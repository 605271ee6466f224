/**
 * The region dashboard over a year of stays (issue 15: "first paint for a region-year under 1 s"), in headless
 * Chromium (Debian's `chromium`, puppeteer-core) against the composed gateway on the national-year bench's
 * PostgreSQL database (`NATIONAL_DATABASE_URL`, default svu_national: 200 000 stays of 2023, filled by
 * `bench/national-year.bench.ts`; svu_national_full holds the whole nation's 1.38 M). The controller's view (an admin
 * token, every municipality) for the year up to 2023-12, loaded BENCH_DASHBOARD_LOADS times (default 5) in fresh pages:
 *   - page: navigation → first contentful paint of the page (it holds no data);
 *   - data drawn: "Visa" clicked → the parties table and the ready-days chart drawn (API calls and rendering);
 *   - api: the dashboard API call alone (GET /admin/api/dashboard, measured from this process).
 * Needs Redis (REDIS_URL, default redis://127.0.0.1:6379). Results: bench/results/dashboard.json.
 *   NATIONAL_DATABASE_URL=postgres://svu:svu@127.0.0.1:5432/svu_national npx tsx bench/dashboard.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { getAgreement, loadAgreements } from '../src/agreements/load-agreements';
import { saveClient } from '../src/auth/client-store';
import { generateSigningKey } from '../src/auth/signing-key';
import { buildGateway } from '../src/compose';
import { dashboardRoutes } from '../src/followup/dashboard/dashboard.routes';
import { ownViewRoutes } from '../src/followup/dashboard/own-view.routes';
import { openPostgres } from '../src/store/db.pg';
import { migrate } from '../src/store/migrate';
import { CHROMIUM } from '../test/support/chromium';
import { benchContext } from './support/app-context';

const URL_ = process.env.NATIONAL_DATABASE_URL ?? 'postgres://svu:svu@127.0.0.1:5432/svu_national';
const LOADS = Number(process.env.BENCH_DASHBOARD_LOADS ?? 5);
const TO = '2023-12';
const NOW = new Date('2024-01-15T00:00:00Z');

// PG_JIT=true: the server's JIT, as the gateway's setting does (default off)
const db = openPostgres(URL_, { max: 8, jit: process.env.PG_JIT === 'true' });
await migrate(db);
const stays = Number(
  (
    await db.query<{ n: string }>(
      `SELECT count(DISTINCT stay_id) AS n FROM stay_fact WHERE kind = 'discharged' AND at >= '2023-01-01' AND at < '2024-01-01'`,
    )
  ).rows[0]?.n,
);
if (stays < 1000) {
  console.error(
    `${URL_} holds ${stays} stays discharged in 2023: fill it first (bench/national-year.bench.ts, see its header)`,
  );
  process.exit(1);
}
const ctx = benchContext(db, { QUEUE_PREFIX: `bench-dash-${process.pid}` });
const agreements = await loadAgreements();
const agreement = () => getAgreement(agreements, ctx.config.AGREEMENT);
const dash = dashboardRoutes({ db, now: () => NOW, agreement });
const own = ownViewRoutes({ db, now: () => NOW, agreement });
const gateway = await buildGateway(ctx, {
  signingKey: await generateSigningKey(),
  withCapabilities: false,
  systemRepository: null,
  extraCapabilities: [
    { name: 'dash', mountRoutes: (app) => app.use(dash) },
    { name: 'own', mountRoutes: (app) => app.use(own) },
  ],
});
await saveClient(db, {
  clientId: 'bench-dashboard',
  secret: 'bench-dashboard-secret',
  allowedScopes: ['system/*.*'],
  role: 'admin',
  admin: true,
});
const server: Server = gateway.app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const tokenRes = await fetch(`${base}/auth/token`, {
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from('bench-dashboard:bench-dashboard-secret').toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: 'grant_type=client_credentials',
});
const token = ((await tokenRes.json()) as { access_token: string }).access_token;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

const api: number[] = [];
for (let i = 0; i < LOADS; i++) {
  const t0 = performance.now();
  const r = await fetch(`${base}/admin/api/dashboard?to=${TO}`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`dashboard API answered ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
  api.push(Math.round(performance.now() - t0));
}

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
const paint: number[] = [];
const drawn: number[] = [];
let municipalities = 0;
for (let i = 0; i < LOADS; i++) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 1400 });
  await page.goto(`${base}/followup/dashboard`, { waitUntil: 'load' });
  paint.push(
    Math.round(
      // The paint entry is recorded a frame after the load event: wait for it (a string: it runs in the page).
      Number(
        await page.evaluate(`new Promise((done) => requestAnimationFrame(() => setTimeout(() => {
          const fcp = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
          done(fcp ? fcp.startTime : NaN);
        }, 50)))`),
      ),
    ),
  );
  await page.type('#tok', token);
  await page.$eval('#to', (el, to) => ((el as unknown as { value: string }).value = to), TO);
  const t0 = performance.now();
  await page.click('#go');
  await page.waitForSelector('#parties tr:nth-child(2)', { timeout: 60_000 });
  await page.waitForSelector('#ready canvas', { timeout: 60_000 });
  drawn.push(Math.round(performance.now() - t0));
  municipalities = await page.$$eval('#ready .u-legend .u-series', (els) => els.length - 1);
  if (i === 0) await page.screenshot({ path: '/tmp/bench-dashboard.png', fullPage: true });
  await page.close();
}
await browser.close();
await new Promise((r) => server.close(r));
await gateway.close?.();
await db.close();

const result = {
  benchmark: 'dashboard',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  database: new URL(URL_).pathname.slice(1),
  staysDischargedInTheYear: stays,
  municipalitiesDrawn: municipalities,
  loads: LOADS,
  jit: process.env.PG_JIT === 'true',
  pageFirstPaintMs: { p50: pct(paint, 50), max: Math.max(...paint) },
  dataDrawnMs: { p50: pct(drawn, 50), max: Math.max(...drawn) },
  apiMs: { p50: pct(api, 50), max: Math.max(...api) },
  target: { firstPaintWithDataMs: 1000 },
};
console.log(
  `dashboard, ${stays} stays discharged in 2023, ${municipalities} municipalities drawn, ${LOADS} loads: page first paint p50 ${result.pageFirstPaintMs.p50} ms; ` +
    `"Visa" → parties and ready-days chart drawn p50 ${result.dataDrawnMs.p50} ms (max ${result.dataDrawnMs.max}); API alone p50 ${result.apiMs.p50} ms (max ${result.apiMs.max})`,
);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'dashboard.json'), `${JSON.stringify(result, null, 2)}\n`);
