/**
 * Delivery benchmark (`npx tsx bench/delivery.bench.ts`, BENCH_QUICK=1 for a small run; PostgreSQL when
 * DATABASE_URL is set, else PGlite). Ten local HTTP receivers, one Subscription each (Task?owner=<its org>), and
 * BENCH_IDLE_SUBSCRIPTIONS more for organisations that own none of the Tasks (matched against, never delivered to).
 * 1. Throughput: N Tasks are written first (outbox backlog), then the delivery service starts; notifications
 *    per second from start until every receiver has all of its own (relay → match → signed POST → 200).
 * 2. Latency at a fixed rate (500/s; quick 200/s): Tasks written through the repository at that rate while
 *    delivery runs; commit (create resolved) → receiver answered 200, p50/p99.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Task } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/platform/redis-server';
import { createLogger } from '../src/platform/logger';
import { systemClock } from '../src/platform/clock';
import { createRepository } from '../src/store/repository.pg';
import type { ClosableDb, Db } from '../src/store/db.port';
import { createDeliveryService } from '../src/delivery/delivery-service';
import { createSubscriptionHooks } from '../src/subscriptions/subscription-access';
import { getRegistryEntry } from '../src/subscriptions/registry.pg';
import { SECRET_EXTENSION } from '../src/subscriptions/subscription-model';
import { openTestDb } from '../test/support/db';

const quick = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_DELIVERY_N ?? (quick ? 2000 : 10_000));
const RATE = Number(process.env.BENCH_DELIVERY_RATE ?? (quick ? 200 : 500));
const RATE_SECONDS = quick ? 5 : 10;
const RECEIVERS = 10;
const IDLE_SUBSCRIPTIONS = Number(process.env.BENCH_IDLE_SUBSCRIPTIONS ?? 0);
const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
const BASE = 'https://svu-gateway.dev/fhir';
const chaos = { p: Number(process.env.BENCH_CHAOS ?? 0) };

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;

interface Rx {
  url: string;
  server: Server;
  arrivals: Map<string, number>;
}

async function receiver(): Promise<Rx> {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        entry?: { resource?: { resourceType?: string; id?: string } }[];
      };
      // BENCH_CHAOS=<p>: during the throughput phase answer 503 with probability p (retries, breaker, reconciler).
      if (chaos.p > 0 && Math.random() < chaos.p) return void res.writeHead(503).end();
      res.writeHead(200).end();
      for (const e of body.entry ?? [])
        if (e.resource?.resourceType === 'Task' && e.resource.id) arrivals.set(e.resource.id, Date.now());
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server, arrivals };
}

function task(org: number, i: number): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task', code: 'inskrivningsmeddelande' }] },
    owner: { reference: `Organization/org-${org}` },
    for: { reference: `Patient/p-${i}` },
    encounter: { reference: `Encounter/e-${i}` },
  };
}

/** Where events are when the run makes no progress: outbox, markers, event states, queue counts, failures. */
async function diagnose(db: ClosableDb, service: ReturnType<typeof createDeliveryService>) {
  const q = async (sql: string) => (await db.query(sql)).rows;
  const queues = [service.deliveryQueue(), ...(service.relay?.queues.values() ?? [])];
  const jobs: Record<string, unknown> = {};
  for (const queue of queues) {
    jobs[queue.name] = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    const failed = await queue.getFailed(0, 4);
    if (failed.length) jobs[`${queue.name}:failed`] = failed.map((j) => [j.id, j.failedReason, j.attemptsMade]);
  }
  return {
    outbox: await q(`SELECT count(*) FILTER (WHERE dispatched_at IS NULL) AS undispatched, count(*) AS total,
      (SELECT count(*) FROM outbox_processed) AS processed_markers FROM outbox`),
    progress: await q('SELECT consumer, low_watermark FROM outbox_consumer_progress'),
    unprocessed: await q(`SELECT o.id, o.stay_key, o.dispatched_at FROM outbox o WHERE NOT EXISTS
      (SELECT 1 FROM outbox_processed x WHERE x.consumer = 'subscription-match' AND x.outbox_id = o.id)
      AND o.id > (SELECT low_watermark FROM outbox_consumer_progress WHERE consumer = 'subscription-match')
      ORDER BY o.id LIMIT 5`),
    events: await q('SELECT status, count(*) FROM subscription_event GROUP BY status'),
    open: await q(`SELECT subscription_id, event_number, order_key, status, generation, attempts, last_error
      FROM subscription_event WHERE status NOT IN ('delivered') ORDER BY created_at LIMIT 5`),
    jobs,
  };
}

/** CPU profile of the throughput phase only (BENCH_CPU_PROFILE=<file>.cpuprofile; open in Chrome DevTools). */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (err, result) => (err ? reject(err) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async (file) => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Statements, transactions and Redis commands in the throughput phase (the bench's own queries are not counted). */
const counts = { on: false, statements: 0, transactions: 0, redis: 0 };
// Every ioredis command passes through sendCommand (BullMQ's scripts included, one per call).
const { sendCommand } = Redis.prototype as { sendCommand: (this: Redis, ...a: unknown[]) => unknown };
(Redis.prototype as { sendCommand: unknown }).sendCommand = function (this: Redis, ...args: unknown[]) {
  if (counts.on) counts.redis++;
  return sendCommand.apply(this, args);
};
function counted(db: Db): Db {
  return {
    kind: db.kind,
    listen: db.listen?.bind(db),
    query: (sql, params) => {
      if (counts.on) counts.statements++;
      return db.query(sql, params);
    },
    transaction: (fn) => {
      if (counts.on) counts.transactions++;
      return db.transaction((tx) => fn(counted(tx)));
    },
  };
}

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  const db: ClosableDb = await openTestDb(kind);
  const hooks = createSubscriptionHooks(BASE);
  const repos = (d: Parameters<typeof createRepository>[0], s?: Parameters<typeof createRepository>[1]) =>
    createRepository(d, s, hooks);
  const rx = await Promise.all(Array.from({ length: RECEIVERS }, () => receiver()));
  const service = createDeliveryService({
    db: counted(db),
    redisUrl: redis.url,
    prefix: 'bench',
    repos,
    logger: createLogger('error'),
    clock: systemClock,
    canonicalBase: BASE,
    fhirBase: 'http://localhost:8080/fhir',
    timeoutMs: 10_000,
    retry: { maxAttempts: 25, backoffMs: 1000 },
    concurrency: 32,
    deliveryConcurrency: Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 64),
    // The relay is woken by the store's NOTIFY at each commit; its poll (default 100 ms) is only the fallback.
    ...(process.env.BENCH_RELAY_POLL_MS ? { pollMs: Number(process.env.BENCH_RELAY_POLL_MS) } : {}),
  });
  // Subscriptions (active directly: the handshake is not what is measured).
  const subs: string[] = [];
  for (let i = 0; i < RECEIVERS; i++) {
    const scope = { clientId: `c${i}`, organization: `Organization/org-${i}`, role: 'municipality' as const };
    const s = await repos(db, scope).create({
      resourceType: 'Subscription',
      status: 'active',
      reason: 'bench',
      criteria: `Task?owner=Organization/org-${i}`,
      channel: { type: 'rest-hook', endpoint: rx[i]!.url, payload: 'application/fhir+json' },
      extension: [{ url: SECRET_EXTENSION, valueString: `secret-${i}` }],
    });
    subs.push((s as { id?: string }).id ?? '');
  }
  // BENCH_IDLE_SUBSCRIPTIONS=<n>: the region's other subscribers (organisations that own none of these Tasks),
  // which every change is matched against too.
  for (let i = 0; i < IDLE_SUBSCRIPTIONS; i++) {
    const scope = { clientId: `idle${i}`, organization: `Organization/idle-${i}`, role: 'municipality' as const };
    await repos(db, scope).create({
      resourceType: 'Subscription',
      status: 'active',
      reason: 'bench',
      criteria: `Task?owner=Organization/idle-${i}`,
      channel: { type: 'rest-hook', endpoint: rx[0]!.url, payload: 'application/fhir+json' },
      extension: [{ url: SECRET_EXTENSION, valueString: `secret-idle-${i}` }],
    });
  }
  // 1. Throughput from a backlog.
  const system = repos(db, { system: true });
  const writeStart = Date.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < N; i++) {
    const p = system.create(task(i % RECEIVERS, i)).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 16) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const writeSeconds = (Date.now() - writeStart) / 1000;
  const profile = process.env.BENCH_CPU_PROFILE ? await startProfile() : undefined;
  const t0 = Date.now();
  counts.on = true;
  service.start();
  const total = () => rx.reduce((n, r) => n + r.arrivals.size, 0);
  let matchedAt = 0;
  let lastTotal = -1;
  let lastProgress = Date.now();
  while (total() < N) {
    if (Date.now() - t0 > 600_000) {
      console.error(JSON.stringify(await diagnose(db, service), null, 1));
      throw new Error(`only ${total()} of ${N} delivered in 10 min`);
    }
    if (total() !== lastTotal) [lastTotal, lastProgress] = [total(), Date.now()];
    else if (Date.now() - lastProgress > 20_000) {
      // No progress for 20 s: print where the events are (a stall diagnosis), then keep waiting.
      console.error('stalled', total(), 'of', N, JSON.stringify(await diagnose(db, service), null, 1));
      lastProgress = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
    if (!matchedAt) {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscription_event');
      if ((rows[0]?.n ?? 0) >= N) matchedAt = Date.now();
      if (process.env.BENCH_TRACE) console.log('matched', rows[0]?.n, 'delivered', total(), Date.now() - t0);
    }
  }
  const deliverSeconds = (Date.now() - t0) / 1000;
  counts.on = false;
  if (profile) await profile(process.env.BENCH_CPU_PROFILE!);
  for (const id of subs) if (!(await getRegistryEntry(db, id))) throw new Error('subscription lost');
  const throughput = {
    notifications: N,
    writeSeconds: round(writeSeconds),
    deliverSeconds: round(deliverSeconds),
    matchSeconds: round((matchedAt - t0) / 1000),
    perSecond: round(N / deliverSeconds),
    // BEGIN and COMMIT count as statements; Redis commands include those inside BullMQ's scripts' calls only once.
    statementsPerEvent: Math.round((100 * (counts.statements + 2 * counts.transactions)) / N) / 100,
    redisCommandsPerEvent: Math.round((100 * counts.redis) / N) / 100,
    // Events that went to the delivery queue instead of a direct attempt (late, failed, postponed).
    viaQueue: service.directStats()?.handedOff ?? N,
  };

  // 2. Latency at a fixed rate.
  chaos.p = 0;
  for (const r of rx) r.arrivals.clear();
  const committed = new Map<string, number>();
  const count = RATE * RATE_SECONDS;
  Object.assign(counts, { on: true, statements: 0, transactions: 0, redis: 0 });
  const start = Date.now();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    writes.push(system.create(task(i % RECEIVERS, N + i)).then((t) => committed.set(t.id!, Date.now())));
  }
  await Promise.all(writes);
  const achievedRate = count / ((Date.now() - start) / 1000);
  const deadline = Date.now() + 120_000;
  while (total() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  counts.on = false;
  const lat: number[] = [];
  for (const r of rx)
    for (const [id, at] of r.arrivals) if (committed.has(id)) lat.push(Math.max(0, at - committed.get(id)!));
  const latency = {
    targetRate: RATE,
    achievedWriteRate: round(achievedRate),
    delivered: lat.length,
    of: count,
    p50Ms: round(pct(lat, 50)),
    p90Ms: round(pct(lat, 90)),
    p99Ms: round(pct(lat, 99)),
    maxMs: round(Math.max(...lat)),
    statementsPerEvent: Math.round((100 * (counts.statements + 2 * counts.transactions)) / count) / 100,
  };

  // Where the time goes at that rate: write → event recorded (relay + matcher) → delivered (worker + POST).
  const { rows: stageRows } = await db.query<{
    match_p50: number;
    match_p99: number;
    deliver_p50: number;
    deliver_p99: number;
  }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m) AS match_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY m) AS match_p99,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS deliver_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS deliver_p99
       FROM (SELECT EXTRACT(EPOCH FROM created_at - committed_at) * 1000 AS m,
                    EXTRACT(EPOCH FROM delivered_at - created_at) * 1000 AS d
               FROM subscription_event WHERE delivered_at IS NOT NULL AND committed_at >= $1) s`,
    [new Date(start).toISOString()],
  );
  const st = stageRows[0];
  const stages = st
    ? {
        matchP50Ms: round(Number(st.match_p50)),
        matchP99Ms: round(Number(st.match_p99)),
        deliverP50Ms: round(Number(st.deliver_p50)),
        deliverP99Ms: round(Number(st.deliver_p99)),
      }
    : undefined;

  await service.stop();
  for (const r of rx) r.server.close();
  await db.close();
  await redis.stop();

  const result = {
    benchmark: 'delivery',
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    quick,
    store: kind,
    receivers: RECEIVERS,
    idleSubscriptions: IDLE_SUBSCRIPTIONS,
    throughput,
    latency,
    stages,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/delivery.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table({ throughput });
  console.table({ latency });
  console.table({ stages });
  // It ends by itself now (the lingering handle was the ioredis connection BullMQ leaves open when given one:
  // see src/platform/close-bullmq.ts); exit anyway so `npm run bench` moves on whatever a library leaves behind.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
