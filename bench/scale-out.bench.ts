/**
 * Scale-out benchmark (issue 17 item 3; `npm run bench scale-out`, needs DATABASE_URL). The compiled gateway runs as
 * separate `api` and `worker` processes on one PostgreSQL database and one Redis, in two layouts, interleaved:
 *   1x1: one API process and one worker;   2x2: two API processes and two workers.
 * The demo EHR writes each stay twice through the API (the admission transaction Bundle, then the same Bundle with a
 * changed Encounter: a second version), the two writes of a stay to different API processes where there are two,
 * BENCH_SCALE_INFLIGHT stays in flight (closed loop). The hospital's signed rest-hook Subscription
 * (Encounter?status=in-progress, full resource) points at a local receiver, which records every notification event:
 * a missing, duplicated (same event number twice) or out-of-order one (an Encounter's version arriving after a
 * later one) is counted and reported. Also per stay: PostgreSQL CPU (backends of the bench database) and the CPU of
 * the gateway processes. Writes bench/results/scale-out.json and prints a table.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Encounter } from '@medplum/fhirtypes';
import pg from 'pg';
import { verifySignature } from '../src/delivery/signature';
import { startLocalRedis } from '../src/platform/redis-server';
import {
  activeSubscription,
  BackendCpu,
  buildGateway,
  cpuSeconds,
  hookServer,
  pct,
  r1,
  sleep,
  startGateway,
  token,
  type RunningGateway,
} from './support/gateway';
import { admissionBundle } from './support/synthetic';
import { closeLoadClient, postFhir } from './support/http-post';

const quick = process.env.BENCH_QUICK === '1';
const STAYS = Number(process.env.BENCH_SCALE_STAYS ?? (quick ? 400 : 1500));
const INFLIGHT = Number(process.env.BENCH_SCALE_INFLIGHT ?? 32);
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? (quick ? 1 : 2));
const LAYOUTS: Record<string, { api: number; worker: number }> = {
  '1x1': { api: 1, worker: 1 },
  '2x2': { api: 2, worker: 2 },
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'bench-secret';
const HOSPITAL = 'Organization/vastmanlands-sjukhus-vasteras';

if (!process.env.DATABASE_URL) {
  console.error('scale-out bench: DATABASE_URL is required (several processes share one PostgreSQL)');
  process.exit(2);
}

interface Arrival {
  event: number;
  version: number;
  at: number;
}

/** A receiver that keeps every notification event: Encounter id → arrivals, and the event numbers seen. */
async function eventReceiver() {
  const byEncounter = new Map<string, Arrival[]>();
  const events = new Map<number, number>();
  let badSignatures = 0;
  const hook = await hookServer((raw, headers, at) => {
    const body = JSON.parse(raw) as Bundle;
    const status = body.entry?.[0]?.resource;
    const encounters = (body.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is Encounter => r?.resourceType === 'Encounter');
    if (status?.resourceType !== 'Parameters' || encounters.length === 0) return; // handshake, heartbeat
    if (!verifySignature(SECRET, headers, raw).ok) {
      badSignatures++;
      return;
    }
    const numbers = (status.parameter ?? [])
      .filter((p) => p.name === 'notification-event')
      .map((p) => Number(p.part?.find((x) => x.name === 'event-number')?.valueString));
    encounters.forEach((enc, i) => {
      const event = numbers[i] ?? NaN;
      events.set(event, (events.get(event) ?? 0) + 1);
      const list = byEncounter.get(enc.id!) ?? [];
      list.push({ event, version: Number(enc.meta?.versionId), at });
      byEncounter.set(enc.id!, list);
    });
  });
  return {
    url: hook.url,
    byEncounter,
    events,
    get badSignatures() {
      return badSignatures;
    },
    close: hook.close,
  };
}

async function runLayout(layout: string, build: string, redisUrl: string, round: number) {
  const shape = LAYOUTS[layout]!;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const rx = await eventReceiver();
  const procs: RunningGateway[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const common = { root, build, admin, adminUrl: process.env.DATABASE_URL!, redisUrl, dbPrefix: 'svu_scale' };
    const first = await startGateway({ ...common, layout: 'api' });
    procs.push(first);
    for (let i = 1; i < shape.api; i++) procs.push(await startGateway({ ...common, layout: 'api', join: first }));
    for (let i = 0; i < shape.worker; i++)
      procs.push(await startGateway({ ...common, layout: 'worker', join: first, ready: false }));
    const apis = procs.slice(0, shape.api).map((p) => p.base);
    const bk = new BackendCpu(admin, first.name);
    sampler = setInterval(() => void bk.track().catch(() => undefined), 250);
    const ehr = await token(apis[0]!, 'demo-ehr');
    await activeSubscription(apis[0]!, ehr, rx.url, SECRET);
    const runId = randomBytes(3).toString('hex');

    /** One write of stay `i` (version 1 or 2) to API `base`; resolves with the Encounter id and when it answered. */
    const write = async (i: number, version: 1 | 2, base: string): Promise<{ enc: string; at: number; ms: number }> => {
      const bundle = admissionBundle(i, runId, { hospital: HOSPITAL, listedUnitHsaId: 'SE2321000172-DEMO0101' });
      if (version === 2) (bundle.entry![1]!.resource as Encounter).priority = { text: 'second version' };
      const t0 = performance.now();
      const res = await postFhir(base, ehr, JSON.stringify(bundle));
      const text = res.text;
      const at = performance.now();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      const loc = (JSON.parse(text) as { entry: { response: { location: string } }[] }).entry[1]!.response.location;
      return { enc: /Encounter\/([^/]+)/.exec(loc)![1]!, at, ms: at - t0 };
    };

    const cpuOfGateway = () => procs.reduce((s, p) => s + cpuSeconds(p.child.pid!), 0);
    await bk.track();
    const pg0 = bk.cpu();
    const cpu0 = cpuOfGateway();
    const answered: { enc: string; version: number; at: number; ms: number }[] = [];
    let errors = 0;
    let firstError: string | undefined;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (next < STAYS) {
          const i = next++;
          try {
            const v1 = await write(i, 1, apis[i % apis.length]!);
            answered.push({ ...v1, version: 1 });
            const v2 = await write(i, 2, apis[(i + 1) % apis.length]!);
            answered.push({ ...v2, version: 2 });
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
    const received = () => [...rx.events.values()].reduce((s, n) => s + n, 0);
    let last = received();
    let quietSince = performance.now();
    while (received() < answered.length && performance.now() - quietSince < 60_000) {
      await sleep(20);
      if (received() !== last) {
        last = received();
        quietSince = performance.now();
      }
    }
    const lastArrival = Math.max(...[...rx.byEncounter.values()].flat().map((a) => a.at));
    await sleep(1500); // trailing writes (delivery log, markers) before the counters
    await bk.track();
    const pgCpu = bk.cpu() - pg0;
    const gatewayCpu = cpuOfGateway() - cpu0;

    const lags: number[] = [];
    let missing = 0;
    for (const a of answered) {
      const got = rx.byEncounter.get(a.enc)?.find((x) => x.version === a.version);
      if (got) lags.push(got.at - a.at);
      else missing++;
    }
    const duplicates = [...rx.events.values()].reduce((s, n) => s + (n - 1), 0);
    let outOfOrder = 0;
    for (const list of rx.byEncounter.values())
      for (let k = 1; k < list.length; k++) if (list[k]!.version < list[k - 1]!.version) outOfOrder++;
    const lastAnswer = Math.max(...answered.map((a) => a.at));
    if (rx.badSignatures > 0) throw new Error(`${rx.badSignatures} notifications with a bad signature`);
    const stays = answered.length / 2;
    return {
      layout,
      round,
      stays: STAYS,
      writes: answered.length,
      errors,
      seconds: r1(seconds),
      staysPerSecond: r1(stays / seconds),
      writesPerSecond: r1(answered.length / seconds),
      writeP50Ms: r1(
        pct(
          answered.map((a) => a.ms),
          50,
        ),
      ),
      writeP99Ms: r1(
        pct(
          answered.map((a) => a.ms),
          99,
        ),
      ),
      notified: lags.length,
      missing,
      duplicates,
      outOfOrder,
      notifyP50Ms: r1(pct(lags, 50)),
      notifyP99Ms: r1(pct(lags, 99)),
      /** From the last API answer to the last notification. */
      tailMs: r1(lastArrival - lastAnswer),
      pgCpuMsPerStay: r1((pgCpu * 1000) / (stays || 1)),
      gatewayCpuMsPerStay: r1((gatewayCpu * 1000) / (stays || 1)),
      loadavg: loadavg().map(r1),
    };
  } finally {
    clearInterval(sampler);
    for (const p of [...procs].reverse()) await p.stop();
    rx.close();
    await admin.end();
  }
}

const built = buildGateway(root);
const redis = await startLocalRedis();
const results: Awaited<ReturnType<typeof runLayout>>[] = [];
const names = Object.keys(LAYOUTS);
try {
  for (let round = 1; round <= ROUNDS; round++)
    for (const layout of round % 2 ? names : [...names].reverse()) {
      console.error(`  [${layout} #${round}] ${STAYS} stays × 2 writes, ${INFLIGHT} in flight`);
      results.push(await runLayout(layout, built.dir, redis.url, round));
    }
} finally {
  await redis.stop();
  built.remove();
}

console.log(
  `\nScale-out: API and worker processes on one PostgreSQL and one Redis (${cpus().length} CPUs, quick=${quick}); each stay written twice, ${INFLIGHT} stays in flight`,
);
console.log(
  '| layout | round | stays/s | writes/s | write p50/p99 ms | notified | missing | duplicates | out of order | notify p50/p99 ms | tail ms | PG CPU ms/stay | gateway CPU ms/stay | load |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.layout} | ${r.round} | ${r.staysPerSecond} | ${r.writesPerSecond} | ${r.writeP50Ms}/${r.writeP99Ms} | ${r.notified}/${r.writes} | ${r.missing} | ${r.duplicates} | ${r.outOfOrder} | ${r.notifyP50Ms}/${r.notifyP99Ms} | ${r.tailMs} | ${r.pgCpuMsPerStay} | ${r.gatewayCpuMsPerStay} | ${r.loadavg.join(' ')} |`,
  );
const out = join(root, 'bench', 'results', 'scale-out.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      benchmark: 'scale-out',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      quick,
      inflight: INFLIGHT,
      results,
    },
    null,
    2,
  ),
);
console.log(`\nwritten ${out}`);
closeLoadClient();
