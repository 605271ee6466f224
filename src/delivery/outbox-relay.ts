import { isConnectionError } from '../platform/dependency-watch';
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { OUTBOX_CHANNEL, type Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { createQueue } from '../platform/queues';
import { closeWithConnection } from '../platform/close-bullmq';
import { jobsGone } from './job-state';
import { jobData, outboxJobId, toOutboxEvent, type OutboxEvent, type OutboxRow } from './outbox.types';

/** The reconciler reads suspect rows in pages of this size, and checks at most this many per pass. */
const RECONCILE_PAGE = 1000;
const RECONCILE_ROWS_PER_PASS = 20_000;

/** Consumer jobs retry transient failures (database briefly down) for about an hour. */
const CONSUMER_JOB = { attempts: 20, backoff: { type: 'exponential', delay: 1000 } } as const;

/** A consumer queue's jobs for outbox rows: job id `ob-<id>` (the deduplication key), no prefetched resource. */
function consumerJobs(events: OutboxEvent[]) {
  return events.map((e) => ({
    name: e.kind,
    data: jobData(e),
    opts: { jobId: outboxJobId(e.outboxId), ...CONSUMER_JOB },
  }));
}

export interface OutboxRelayOptions {
  db: Db;
  redisUrl: string;
  prefix: string;
  /** One BullMQ queue per consumer, named after it (e.g. `subscription-match`, `deadline-events`). */
  consumers: string[];
  logger?: Logger;
  /** Poll interval when not nudged. */
  pollMs?: number;
  /**
   * When woken again while a pass ran (commits keep coming), wait this long before the next pass so that it
   * takes more rows at once (fewer statements per row under a steady stream; default 10 ms, 0: none).
   */
  coalesceMs?: number;
  batchSize?: number;
  /** How often the reconciler looks for relayed rows whose jobs vanished. */
  reconcileMs?: number;
  /** A dispatched row is only suspect once it is this old and still unprocessed. */
  reconcileGraceMs?: number;
  /**
   * Consumers the relay handles itself, in its pass (no BullMQ job per row), all at once: `handle` must write the
   * rows' processed markers, and mark the rows dispatched in the same transaction when `marksDispatched`
   * (`handleOutboxBatch` with `dispatch`; when none that does succeeds, the relay marks them). If it throws, the
   * rows go to the consumer's queue as for any other consumer (its worker handles them one by one), and the
   * reconciler covers the consumer as the others. Each must also be in `consumers`.
   */
  inline?: InlineConsumer[];
}

export interface InlineConsumer {
  consumer: string;
  handle(events: OutboxEvent[]): Promise<unknown>;
  /** Whether `handle` marks the rows dispatched (default true; at most one of the inline consumers should). */
  marksDispatched?: boolean;
  /**
   * Resource types whose changed resource the relay reads with the rows (`OutboxEvent.focusJson`), in the same
   * statement, so that the consumer needs no read of its own (the matcher: the types some subscription is about).
   */
  focusTypes?: () => string[];
}

export interface OutboxRelay {
  start(): void;
  /** Wake the relay now (call after a commit that wrote outbox rows). */
  nudge(): void;
  /** One relay pass; returns the number of rows moved. */
  relayOnce(): Promise<number>;
  /** One reconciler pass; returns how many rows were re-enqueued. */
  reconcileOnce(): Promise<number>;
  /** Undispatched rows and the age of the oldest (outbox lag), for metrics and the admin view. */
  lag(): Promise<{ pending: number; oldestAgeSeconds: number }>;
  queues: ReadonlyMap<string, Queue<OutboxEvent>>;
  stop(): Promise<void>;
}

/**
 * The only path from PostgreSQL to BullMQ. Moves undispatched outbox rows, in id order, into every
 * consumer's queue with job id `ob-<id>`, then marks them dispatched. A crash between enqueue and mark
 * re-enqueues on the next pass, which BullMQ ignores by job id. One relay at a time holds a transaction
 * lease row (`outbox_relay_lease`), so several worker processes keep id order. The reconciler re-enqueues rows that were
 * dispatched but never processed (their jobs vanished: Redis restarted or flushed).
 */
export function createOutboxRelay(o: OutboxRelayOptions): OutboxRelay {
  const { db } = o;
  const pollMs = o.pollMs ?? 100;
  const batchSize = o.batchSize ?? 500;
  const coalesceMs = o.coalesceMs ?? 10;
  const reconcileMs = o.reconcileMs ?? 5000;
  const graceMs = o.reconcileGraceMs ?? 10_000;
  const queues = new Map<string, Queue<OutboxEvent>>(
    o.consumers.map((c) => [c, createQueue<OutboxEvent>(c, { redisUrl: o.redisUrl, prefix: o.prefix })]),
  );
  const holder = `${process.pid}-${randomUUID()}`;
  let running = false;
  let listening: Promise<(() => Promise<void>) | undefined> | undefined;
  let progressReady: Promise<void> | undefined;
  let stopped = false;
  let busy: Promise<void> | undefined;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;

  const inline = new Map((o.inline ?? []).map((c) => [c.consumer, c]));
  /** Per consumer, the outbox id the reconciler's next pass continues after (0: the watermark). */
  const cursors = new Map<string, number>();

  async function enqueue(events: OutboxEvent[], to: Queue<OutboxEvent>[]): Promise<void> {
    await Promise.all(to.map((q) => q.addBulk(consumerJobs(events))));
  }

  const markDispatched = (d: Db, ids: number[]) =>
    d.query('UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])', [ids]);

  /**
   * Inline consumers handle the rows here, side by side (each in its own transaction); returns whether one that
   * marks the rows dispatched succeeded.
   */
  async function handleInline(events: OutboxEvent[]): Promise<boolean> {
    const done = await Promise.all(
      [...inline].map(async ([name, c]) => {
        try {
          await c.handle(events);
          return c.marksDispatched !== false;
        } catch (err) {
          o.logger?.warn('outbox relay: inline consumer failed; its rows go to its queue', {
            consumer: name,
            rows: events.length,
            error: String(err),
          });
          // (Marking them dispatched again after a failure that came after the commit is harmless.)
          await enqueue(events, [queues.get(name)!]);
          return false;
        }
      }),
    );
    return done.some(Boolean);
  }

  async function relayOnce(): Promise<number> {
    // A consumer's progress starts before the first row it is sent (the reconciler ignores older rows).
    progressReady ??= ensureProgressRows().catch((err: unknown) => {
      progressReady = undefined;
      throw err;
    });
    await progressReady;
    // Lease and read in one statement: no rows unless this relay holds (or just took) the lease. The changed
    // resource comes along for the types an inline consumer asks for, when the row's version is still the current
    // one (the same snapshot: exactly that version); the subquery is not run for other rows.
    const focusTypes = [...new Set([...inline.values()].flatMap((c) => c.focusTypes?.() ?? []))];
    // The lease row is written only to take it or when less than 10 of its 15 s are left: most passes only read,
    // and a statement that writes nothing commits without a WAL record (one flush less per notification).
    const { rows } = await db.query<OutboxRow>(
      `WITH lease AS (
         UPDATE outbox_relay_lease SET holder = $1, until = now() + interval '15 seconds'
          WHERE id = 1 AND (until < now() OR (holder = $1 AND until < now() + interval '10 seconds')) RETURNING 1),
       held AS (
         SELECT 1 FROM outbox_relay_lease WHERE id = 1 AND holder = $1 AND until >= now() + interval '10 seconds')
       SELECT o.id, o.kind, o.resource_type, o.resource_id, o.version_id, o.action, o.stay_key, o.payload,
              o.created_at,
              (SELECT r.content FROM fhir_resource r
                WHERE o.resource_type = ANY($3::text[]) AND o.action IS DISTINCT FROM 'delete'
                  AND r.resource_type = o.resource_type AND r.id = o.resource_id
                  AND r.version_id::text = o.version_id AND NOT r.deleted) AS focus_json
         FROM outbox o WHERE o.dispatched_at IS NULL AND (EXISTS (SELECT 1 FROM lease) OR EXISTS (SELECT 1 FROM held))
        ORDER BY o.id LIMIT $2`,
      [holder, batchSize, focusTypes],
    );
    if (rows.length === 0) return 0;
    const events = rows.map(toOutboxEvent);
    const ids = events.map((e) => e.outboxId);
    // The queued consumers' jobs are added while the inline consumers handle the rows (the matcher: the
    // notification path does not wait for Redis). If adding fails after an inline consumer marked the rows
    // dispatched, the reconciler adds those jobs after its grace; if it fails otherwise, the rows stay undispatched
    // and the next pass relays them again (job ids make that harmless).
    const [queued, handled] = await Promise.allSettled([
      enqueue(
        events,
        [...queues].filter(([name]) => !inline.has(name)).map(([, q]) => q),
      ),
      handleInline(events),
    ]);
    if (queued.status === 'rejected') throw queued.reason;
    if (handled.status === 'rejected') throw handled.reason;
    if (!handled.value) await markDispatched(db, ids);
    return rows.length;
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      try {
        while (!stopped && (await relayOnce()) === batchSize);
      } catch (err) {
        if (!isConnectionError(err)) o.logger?.warn('outbox relay pass failed; will retry', { error: String(err) });
      }
      // Woken again during a pass (commits keep coming): let a few more rows gather before the next one.
      if (again && !stopped && coalesceMs > 0) await new Promise((r) => setTimeout(r, coalesceMs));
    } while (again && !stopped);
  }

  function kick(): void {
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    busy = drain().finally(() => {
      busy = undefined;
    });
  }

  async function ensureProgressRows(): Promise<void> {
    for (const c of queues.keys()) {
      await db.query(
        `INSERT INTO outbox_consumer_progress (consumer, low_watermark)
           SELECT $1, COALESCE(max(id), 0) FROM outbox WHERE dispatched_at IS NOT NULL
         ON CONFLICT (consumer) DO NOTHING`,
        [c],
      );
    }
  }

  /** Of `rows`, re-adds those whose job is gone (or finished although the row is unprocessed). */
  async function readdMissing(queue: Queue<OutboxEvent>, rows: OutboxRow[]): Promise<number> {
    let readded = 0;
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      const jobs = await Promise.all(chunk.map((r) => queue.getJob(outboxJobId(Number(r.id)))));
      const missing = await jobsGone(chunk, jobs);
      if (missing.length === 0) continue;
      const events = missing.map(toOutboxEvent);
      await queue.addBulk(consumerJobs(events));
      readded += missing.length;
    }
    return readded;
  }

  async function reconcileConsumer(consumer: string, queue: Queue<OutboxEvent>): Promise<number> {
    // Advance the watermark past rows every consumer pass has handled, then forget their markers.
    await db.query(
      `UPDATE outbox_consumer_progress p SET updated_at = now(), low_watermark = GREATEST(p.low_watermark, COALESCE(
          (SELECT min(o.id) - 1 FROM outbox o WHERE o.id > p.low_watermark
             AND (o.dispatched_at IS NULL OR NOT EXISTS
               (SELECT 1 FROM outbox_processed x WHERE x.consumer = p.consumer AND x.outbox_id = o.id))),
          (SELECT max(o.id) FROM outbox o WHERE o.id > p.low_watermark AND o.dispatched_at < now() - interval '1 minute'),
          p.low_watermark))
        WHERE p.consumer = $1`,
      [consumer],
    );
    await db.query(
      `DELETE FROM outbox_processed x USING outbox_consumer_progress p
        WHERE x.consumer = $1 AND p.consumer = $1 AND x.outbox_id <= p.low_watermark`,
      [consumer],
    );
    // Every suspect row is checked, however far past the watermark: a pass pages on from where the last one
    // stopped (up to RECONCILE_ROWS_PER_PASS rows) and starts again at the watermark once it reaches the end.
    // (Checking only the first rows past the watermark left rows further on without a job for as long as the
    // rows in front still had theirs, i.e. for the whole backlog after a FLUSHALL.)
    let readded = 0;
    let checked = 0;
    while (checked < RECONCILE_ROWS_PER_PASS) {
      const from = cursors.get(consumer) ?? 0;
      const { rows } = await db.query<OutboxRow>(
        `SELECT o.id, o.kind, o.resource_type, o.resource_id, o.version_id, o.action, o.stay_key, o.payload, o.created_at
           FROM outbox o, outbox_consumer_progress p
          WHERE p.consumer = $1 AND o.id > GREATEST(p.low_watermark, $3) AND o.dispatched_at IS NOT NULL
            AND o.dispatched_at < now() - ($2::int * interval '1 millisecond')
            AND NOT EXISTS (SELECT 1 FROM outbox_processed x WHERE x.consumer = $1 AND x.outbox_id = o.id)
          ORDER BY o.id LIMIT $4`,
        [consumer, graceMs, from, RECONCILE_PAGE],
      );
      checked += rows.length;
      readded += await readdMissing(queue, rows);
      const last = rows[rows.length - 1];
      if (rows.length < RECONCILE_PAGE || !last) {
        cursors.delete(consumer);
        break;
      }
      cursors.set(consumer, Number(last.id));
    }
    if (readded > 0) o.logger?.warn('outbox reconciler re-enqueued rows whose jobs vanished', { consumer, readded });
    return readded;
  }

  async function reconcileOnce(): Promise<number> {
    await ensureProgressRows();
    let n = 0;
    for (const [c, q] of queues) n += await reconcileConsumer(c, q);
    return n;
  }

  return {
    queues,
    start() {
      if (running) return;
      running = true;
      pollTimer = setInterval(kick, pollMs);
      // Woken by the store's NOTIFY at each commit that wrote outbox rows (any process); polling stays as a fallback.
      listening = db.listen?.(OUTBOX_CHANNEL, kick).catch((err: unknown) => {
        o.logger?.warn('outbox relay cannot LISTEN; polling only', { error: String(err) });
        return undefined;
      });
      reconcileTimer = setInterval(() => {
        reconcileOnce().catch((err: unknown) => {
          if (!isConnectionError(err)) o.logger?.warn('outbox reconciler failed', { error: String(err) });
        });
      }, reconcileMs);
      kick();
    },
    nudge: kick,
    relayOnce,
    reconcileOnce,
    async lag() {
      const { rows } = await db.query<{ n: number; age: number | null }>(
        `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
           FROM outbox WHERE dispatched_at IS NULL`,
      );
      return { pending: rows[0]?.n ?? 0, oldestAgeSeconds: Math.max(0, rows[0]?.age ?? 0) };
    },
    async stop() {
      stopped = true;
      if (pollTimer) clearInterval(pollTimer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await (
        await listening
      )?.();
      await busy;
      await Promise.all([...queues.values()].map((q) => closeWithConnection(q)));
    },
  };
}
