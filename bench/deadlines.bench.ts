/**
 * Deadline benchmark (`npx tsx bench/deadlines.bench.ts`, BENCH_QUICK=1 for a small run).
 * 1. Hold: N pending deadline steps as BullMQ delayed jobs (N = 1 000 000, quick 50 000): time to schedule them,
 *    Redis memory (INFO memory), a reconciler pass over N `deadline_step` rows with every timer present, and the
 *    re-arm of all N after a FLUSHALL.
 * 2. Lag: Tasks on a seconds-long ladder, created through the repository (outbox → relay → `deadline-events`),
 *    while other writes keep the relay and consumers busy; lag from each step's due time to its effects being
 *    committed (`recorded_at`) and to the resulting outbox event reaching a second consumer queue (delivered).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Organization, Task } from '@medplum/fhirtypes';
import { loadAgreements } from '../src/agreements/load-agreements';
import { DeadlineService, DEADLINE_EVENTS_CONSUMER } from '../src/deadlines/deadline-service';
import { reconcileTimers } from '../src/deadlines/reconciler';
import { DeadlineTimers } from '../src/deadlines/timers';
import type { PendingStep } from '../src/deadlines/deadline-store.pg';
import { createOutboxRelay } from '../src/delivery/outbox-relay';
import { startOutboxConsumer } from '../src/delivery/outbox-consumer';
import { CODE_SYSTEM } from '../src/fhir/constants';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { startLocalRedis } from '../src/platform/redis-server';
import { createRepository } from '../src/store/repository.pg';
import type { Db } from '../src/store/db.port';
import { openTestDb } from '../test/support/db';

const quick = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_DEADLINES ?? (quick ? 50_000 : 1_000_000));
const TASKS = Number(process.env.BENCH_LAG_TASKS ?? (quick ? 100 : 600));
const SPREAD_S = Number(process.env.BENCH_LAG_SPREAD_S ?? (quick ? 10 : 60));
/** Each Task's deadline lies this far after its own creation, so its steps are armed before they are due. */
const LEAD_MS = 6000;
const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
const logger = createLogger('error');

const usedMemory = (info: string) => Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) });

async function hold(db: Db, redisUrl: string) {
  const admin = new Redis(redisUrl);
  await admin.flushall();
  const mem0 = usedMemory(await admin.info('memory'));
  const timers = new DeadlineTimers({ redisUrl, prefix: 'bench' }, systemClock);
  const base = Date.now() + 3600_000;
  const step = (i: number): PendingStep => ({ taskId: `b${i}`, stepId: 'overdue', dueAt: new Date(base + i * 1000) });
  let t0 = Date.now();
  const chunk = 10_000;
  for (let i = 0; i < N; i += chunk * 4) {
    await Promise.all(
      [0, 1, 2, 3].map((k) => {
        const from = i + k * chunk;
        const n = Math.max(0, Math.min(chunk, N - from));
        return timers.arm(Array.from({ length: n }, (_, j) => step(from + j)));
      }),
    );
  }
  const scheduleMs = Date.now() - t0;
  const delayed = await timers.queue.getDelayedCount();
  const mem1 = usedMemory(await admin.info('memory'));
  // The same N steps as rows, for the reconciler.
  await db.query(
    `INSERT INTO deadline_step (task_id, step_id, kind, recipient, seq, due_at)
     SELECT 'b' || i, 'overdue', 'overdue', 'owner', 1, to_timestamp(($1::bigint + i * 1000) / 1000.0)
     FROM generate_series(0, $2 - 1) AS i`,
    [base, N],
  );
  t0 = Date.now();
  const present = await reconcileTimers({ db, timers, clock: systemClock, pageSize: 5000 });
  const reconcileMs = Date.now() - t0;
  await admin.flushall();
  t0 = Date.now();
  const rearm = await reconcileTimers({ db, timers, clock: systemClock, pageSize: 5000 });
  const rearmMs = Date.now() - t0;
  await db.query(`DELETE FROM deadline_step WHERE task_id LIKE 'b%'`);
  await timers.close();
  await admin.flushall();
  admin.disconnect();
  return {
    timers: N,
    delayedInRedis: delayed,
    scheduleMs,
    schedulePerSecond: Math.round(N / (scheduleMs / 1000)),
    redisUsedMemoryMb: Math.round((mem1 - mem0) / 1e5) / 10,
    bytesPerTimer: Math.round((mem1 - mem0) / N),
    reconcilePassMs: reconcileMs,
    reconcileChecked: present.checked,
    reconcileMissing: present.rearmed,
    rearmAfterFlushMs: rearmMs,
    rearmed: rearm.rearmed,
  };
}

async function lag(db: Db, redisUrl: string) {
  const agreements = await loadAgreements();
  const lagAgreement = agreements.get('lag')!;
  const offsets = ['-PT1S', 'PT0S', 'PT1S', 'PT2S'];
  agreements.set('bench', {
    ...lagAgreement,
    id: 'bench',
    escalation: {
      ...lagAgreement.escalation,
      steps: lagAgreement.escalation.steps.map((s, i) => ({ ...s, at: { ...s.at, offset: offsets[i]! } })),
    },
  });
  const prefix = `bench-${randomUUID().slice(0, 6)}`;
  const repo = (d: Db) => createRepository(d, { system: true });
  const service = new DeadlineService({
    db,
    redisUrl,
    prefix,
    clock: systemClock,
    logger,
    agreements,
    defaultAgreement: 'bench',
    repo,
  });
  service.startWorker();
  const arrivals = new Map<string, number>();
  const relay = createOutboxRelay({
    db,
    redisUrl,
    prefix,
    consumers: [DEADLINE_EVENTS_CONSUMER, 'bench-sink'],
    pollMs: 10,
  });
  relay.start();
  const consumers = [
    startOutboxConsumer(DEADLINE_EVENTS_CONSUMER, service.outboxProcessor, { db, redisUrl, prefix, concurrency: 8 }),
    startOutboxConsumer(
      'bench-sink',
      async (e) => {
        if (e.resourceType === 'Task' && e.resourceId) arrivals.set(`${e.resourceId}/${e.versionId}`, Date.now());
      },
      { db, redisUrl, prefix, concurrency: 8 },
    ),
  ];
  const r = repo(db);
  const owner = (await r.create<Organization>({ resourceType: 'Organization', name: 'Kommun' })).id!;
  const requester = (await r.create<Organization>({ resourceType: 'Organization', name: 'Sjukhus' })).id!;
  // Other traffic while the ladder runs: Tasks without deadlines, through the same outbox and consumers.
  let background = 0;
  let stop = false;
  const noise = (async () => {
    while (!stop) {
      await r.create<Task>({ resourceType: 'Task', status: 'requested', intent: 'order' });
      background++;
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  const ids: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < TASKS; i++) {
    // Creation is paced evenly over the spread; each Task then runs its ~4 steps over the next few seconds.
    const at = t0 + Math.floor((i * SPREAD_S * 1000) / TASKS);
    if (at > Date.now()) await new Promise((res) => setTimeout(res, at - Date.now()));
    const t = await r.create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: CODE_SYSTEM.task, code: 'inskrivningsmeddelande' }] },
      owner: { reference: `Organization/${owner}` },
      requester: { reference: `Organization/${requester}` },
      restriction: { period: { end: new Date(Date.now() + LEAD_MS).toISOString() } },
    });
    ids.push(t.id!);
  }
  const deadlineEnd = Date.now() + LEAD_MS + 2000;
  let pendingLeft = 0;
  try {
    for (;;) {
      const left = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM deadline_step WHERE task_id = ANY($1) AND fired_at IS NULL AND cancelled_at IS NULL`,
        [ids],
      );
      pendingLeft = Number(left.rows[0]!.n);
      if (Date.now() > deadlineEnd && pendingLeft === 0) break;
      if (Date.now() > deadlineEnd + 60_000) break; // reported as pendingLeft
      await new Promise((res) => setTimeout(res, 200));
    }
    await new Promise((res) => setTimeout(res, 1500)); // let the last events reach the sink
  } finally {
    stop = true;
    await noise;
  }
  const rows = await db.query<{ due_at: Date; recorded_at: Date; outcome: { written?: string[] } }>(
    `SELECT due_at, recorded_at, outcome FROM deadline_step WHERE task_id = ANY($1) AND fired_at IS NOT NULL`,
    [ids],
  );
  const recorded: number[] = [];
  const delivered: number[] = [];
  let undelivered = 0;
  for (const row of rows.rows) {
    const due = new Date(row.due_at).getTime();
    recorded.push(new Date(row.recorded_at).getTime() - due);
    for (const w of row.outcome.written ?? []) {
      const m = /^Task\/([^/]+)(?:\/_history\/(.+))?$/.exec(w);
      const at = m && arrivals.get(`${m[1]}/${m[2] ?? '1'}`);
      if (at) delivered.push(at - due);
      else undelivered++;
    }
  }
  for (const c of consumers) await c.close();
  await relay.stop();
  await service.close();
  return {
    tasks: TASKS,
    stepsFired: rows.rows.length,
    stepsStillPending: pendingLeft,
    spreadSeconds: SPREAD_S,
    stepsPerSecond: Math.round((rows.rows.length / SPREAD_S) * 10) / 10,
    backgroundWrites: background,
    recordedLagMs: stats(recorded),
    deliveredLagMs: { ...stats(delivered), undelivered },
  };
}

const parts = (process.env.BENCH_PART ?? 'hold,lag').split(',');
const redis = await startLocalRedis();
const db = await openTestDb(kind);
try {
  const previous = existsSync('bench/results/deadlines.json')
    ? (JSON.parse(readFileSync('bench/results/deadlines.json', 'utf8')) as { hold?: unknown })
    : {};
  const h = parts.includes('hold') ? await hold(db, redis.url) : previous.hold;
  if (parts.includes('hold')) console.table([{ part: 'hold', ...(h as object) }]);
  const l = await lag(db, redis.url);
  console.table([
    { lag: 'recorded (ms)', ...l.recordedLagMs },
    { lag: 'delivered (ms)', ...l.deliveredLagMs },
  ]);
  const result = {
    benchmark: 'deadlines',
    date: new Date().toISOString(),
    node: process.version,
    quick,
    store: kind,
    redis: 'private redis-server --hz 100',
    hold: h,
    lag: { ...l, targetP99Ms: 1000, met: l.deliveredLagMs.p99 < 1000 && l.recordedLagMs.p99 < 1000 },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/deadlines.json', JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result.lag));
} finally {
  await db.close();
  await redis.stop();
}
process.exit(0);
