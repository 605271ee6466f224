import type { Db } from '../store/db.port';

/** One entry of the per-subscription notification log (`subscription_event`). */
export interface SubscriptionEvent {
  subscriptionId: string;
  eventNumber: number;
  outboxId: number | null;
  orderKey: string;
  topic: string | null;
  focusType: string;
  focusId: string;
  focusVersion: string | null;
  action: string | null;
  status: 'waiting' | 'queued' | 'delivered' | 'skipped' | 'dead';
  generation: number;
  attempts: number;
  committedAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** A `subscription_event` row as the driver returns it. */
export interface EventRow {
  subscription_id: string;
  event_number: number;
  outbox_id: number | null;
  order_key: string;
  topic: string | null;
  focus_type: string;
  focus_id: string;
  focus_version: string | null;
  action: string | null;
  status: SubscriptionEvent['status'];
  generation: number;
  attempts: number;
  committed_at: Date | string;
  delivered_at: Date | string | null;
  last_error: string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function toEvent(r: EventRow): SubscriptionEvent {
  return {
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    outboxId: r.outbox_id === null ? null : Number(r.outbox_id),
    orderKey: r.order_key,
    topic: r.topic,
    focusType: r.focus_type,
    focusId: r.focus_id,
    focusVersion: r.focus_version,
    action: r.action,
    status: r.status,
    generation: r.generation,
    attempts: r.attempts,
    committedAt: iso(r.committed_at) ?? '',
    deliveredAt: iso(r.delivered_at),
    lastError: r.last_error,
  };
}

/** What a delivery job needs to find its event again. */
export interface EventRef {
  subscriptionId: string;
  eventNumber: number;
  generation: number;
}

export const eventJobId = (e: EventRef): string => `ev-${e.subscriptionId}-${e.eventNumber}-${e.generation}`;

export interface NewEvent {
  subscriptionId: string;
  orderKey: string;
  topic?: string;
  focusType: string;
  focusId: string;
  focusVersion?: string | null;
  action?: string | null;
  outboxId?: number;
  committedAt: string;
}

/**
 * Serialises everything that touches one (subscription, order key) chain: hashtext('sev|<subscription>|<order
 * key>'). The multi-chain lockers (`svu_record_events`, `svu_complete_delivered`, migration 042) take the same
 * keys in one statement in hash order, and the one-chain paths a single one, so concurrent matchers and workers
 * never deadlock on chains.
 */
async function lockKey(tx: Db, subscriptionId: string, orderKey: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sev|${subscriptionId}|${orderKey}`]);
}

/**
 * Numbers and records new events (call inside a transaction), in the order given (outbox order). Locks:
 * the chains (hash order, see lockKey), then the subscriptions' registry rows in id order, then one
 * set-based statement counts, checks open chains and inserts (all in one call of `svu_record_events`). An event whose chain still has an undelivered
 * earlier event (stored, or earlier in this call) waits behind it; the others are `queued` and returned for
 * the caller to enqueue after commit. With `claimMs`, the queued ones are claimed for that long (the caller
 * delivers them itself, without a job; see listQueued).
 */
/**
 * A queued event just recorded, with its outbox row and its subscription's registry row as the recording left it
 * (what a delivery right after the commit needs besides the event itself).
 */
export interface RecordedEvent extends EventRef {
  outboxId: number | null;
  registry: { status: string; eventsSinceStart: number; updatedAt: string };
}

/** `svu_record_events`' result columns (also `svu_claim_and_record`'s). */
interface RecordedRow {
  o_sub: string;
  o_num: number;
  o_gen: number;
  o_outbox: number | null;
  o_status: string;
  o_since: number;
  o_updated: Date | string;
}
const RECORDED = 'o_sub, o_num, o_gen, o_outbox, o_status, o_since, o_updated';

const eventColumns = (events: NewEvent[], claimMs: number): unknown[] => {
  const col = <K extends keyof NewEvent>(k: K) => events.map((e) => e[k] ?? null);
  return [
    col('subscriptionId'),
    col('orderKey'),
    col('outboxId'),
    col('topic'),
    col('focusType'),
    col('focusId'),
    col('focusVersion'),
    col('action'),
    col('committedAt'),
    Math.max(0, Math.round(claimMs)),
  ];
};

const toRecorded = (r: RecordedRow): RecordedEvent => ({
  subscriptionId: r.o_sub,
  eventNumber: Number(r.o_num),
  generation: r.o_gen,
  outboxId: r.o_outbox === null ? null : Number(r.o_outbox),
  registry: { status: r.o_status, eventsSinceStart: Number(r.o_since), updatedAt: new Date(r.o_updated).toISOString() },
});

export async function recordEvents(tx: Db, events: NewEvent[], claimMs = 0): Promise<RecordedEvent[]> {
  if (events.length === 0) return [];
  // One call (`svu_record_events`, migrations 042 and 140): locks, then the set-based numbering and insert.
  const { rows } = await tx.query<RecordedRow>(
    `SELECT ${RECORDED} FROM svu_record_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    eventColumns(events, claimMs),
  );
  return rows.map(toRecorded);
}

/** What `claimAndRecord` was asked to claim for a consumer. */
export interface OutboxClaim {
  consumer: string;
  ids: number[];
  keys: string[];
  ordered: boolean;
  dispatch: boolean;
}

/**
 * Claims outbox rows for a consumer and records the events of those it claimed, in one autocommitted statement
 * (`svu_claim_and_record`, migration 141: `svu_outbox_claim`, then `recordEvents` for the claimed rows' events).
 * `undefined` when the claim also brought earlier unprocessed rows of the same keys (nothing was kept: the
 * caller handles the rows in a transaction instead).
 */
export async function claimAndRecord(
  db: Db,
  claim: OutboxClaim,
  events: NewEvent[],
  claimMs = 0,
): Promise<RecordedEvent[] | undefined> {
  try {
    const { rows } = await db.query<RecordedRow>(
      `SELECT ${RECORDED} FROM svu_claim_and_record($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [claim.consumer, claim.ids, claim.keys, claim.ordered, claim.dispatch, ...eventColumns(events, claimMs)],
    );
    return rows.map(toRecorded);
  } catch (err) {
    if ((err as { code?: string }).code === 'SV001') return undefined;
    throw err;
  }
}

export async function getEvent(
  db: Db,
  subscriptionId: string,
  eventNumber: number,
): Promise<SubscriptionEvent | undefined> {
  const { rows } = await db.query<EventRow>(
    'SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number = $2',
    [subscriptionId, eventNumber],
  );
  return rows[0] ? toEvent(rows[0]) : undefined;
}

export async function listEvents(
  db: Db,
  subscriptionId: string,
  since: number,
  until: number,
  limit = 1000,
): Promise<SubscriptionEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number BETWEEN $2 AND $3
      ORDER BY event_number LIMIT $4`,
    [subscriptionId, since, until, limit],
  );
  return rows.map(toEvent);
}

/** Counts one attempt on the event (durable across Redis loss); returns the new count. */
export async function countAttempt(db: Db, ref: EventRef, error?: string): Promise<number> {
  const { rows } = await db.query<{ attempts: number }>(
    `UPDATE subscription_event SET attempts = attempts + 1, last_error = $3
      WHERE subscription_id = $1 AND event_number = $2 RETURNING attempts`,
    [ref.subscriptionId, ref.eventNumber, error ?? null],
  );
  return rows[0]?.attempts ?? 0;
}

/** The attempt-log row written together with the completion (`delivery_attempt`). */
export interface AttemptLog {
  endpoint: string;
  attempt: number;
  status: string;
  httpStatus?: number | null;
  error?: string | null;
  durationMs?: number;
}

/**
 * Closes an event (`delivered` or `skipped`) and releases the next waiting event of its chain, which is
 * returned to be enqueued after commit. With `log`, the attempt is logged in the same statement, and a
 * delivery also clears the subscription's failure state (counter reset, `last_sent_at` for heartbeats; a
 * clean row written less than a second ago is left alone so parallel deliveries do not queue on its lock, and a
 * row another transaction holds is skipped: waiting for it while holding the chain lock could deadlock, see
 * migration 044).
 * After the chain lock this is one statement: the release looks past the event being closed.
 */
export async function completeEvent(
  tx: Db,
  ev: SubscriptionEvent,
  outcome: 'delivered' | 'skipped',
  error?: string,
  log?: AttemptLog,
): Promise<EventRef | undefined> {
  await lockKey(tx, ev.subscriptionId, ev.orderKey);
  const { rows } = await tx.query<{ event_number: number; generation: number }>(
    `WITH done AS (
       UPDATE subscription_event SET status = $3::text,
           delivered_at = CASE WHEN $3::text = 'delivered' THEN now() END, last_error = $4::text
        WHERE subscription_id = $1 AND event_number = $2 RETURNING 1),
     att AS (
       INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status,
           error, duration_ms)
       SELECT $1::text, $2::bigint, 'event', $6::text, $7::int, $8::text, $9::int, $10::text, $11::int
        WHERE $6::text IS NOT NULL),
     reg AS (
       UPDATE subscription_registry SET consecutive_failures = 0, last_sent_at = now(), last_error = NULL
        WHERE id IN (SELECT r.id FROM subscription_registry r
                      WHERE r.id = $1 AND $3::text = 'delivered' AND $6::text IS NOT NULL
                        AND (r.consecutive_failures <> 0 OR r.last_error IS NOT NULL OR r.last_sent_at IS NULL
                             OR r.last_sent_at < now() - interval '1 second')
                      FOR UPDATE SKIP LOCKED)),
     nxt AS (
       SELECT event_number, status FROM subscription_event
        WHERE subscription_id = $1 AND order_key = $5 AND event_number <> $2
          AND status IN ('waiting', 'queued', 'dead')
        ORDER BY event_number LIMIT 1)
     UPDATE subscription_event e SET status = 'queued' FROM nxt
      WHERE e.subscription_id = $1 AND e.event_number = nxt.event_number AND nxt.status = 'waiting'
     RETURNING e.event_number, e.generation`,
    [
      ev.subscriptionId,
      ev.eventNumber,
      outcome,
      error ?? null,
      ev.orderKey,
      log?.endpoint ?? null,
      log?.attempt ?? null,
      log?.status ?? null,
      log?.httpStatus ?? null,
      log?.error ?? null,
      log?.durationMs ?? 0,
    ],
  );
  const next = rows[0];
  return next
    ? { subscriptionId: ev.subscriptionId, eventNumber: Number(next.event_number), generation: next.generation }
    : undefined;
}

/** Parks the event in the dead-letter queue; its chain (later events of the same stay) waits behind it. */
export async function deadLetter(tx: Db, ev: SubscriptionEvent, endpoint: string, reason: string): Promise<number> {
  await lockKey(tx, ev.subscriptionId, ev.orderKey);
  await tx.query(
    `UPDATE subscription_event SET status = 'dead', last_error = $3 WHERE subscription_id = $1 AND event_number = $2`,
    [ev.subscriptionId, ev.eventNumber, reason],
  );
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO dead_letter (subscription_id, event_number, endpoint, reason) VALUES ($1, $2, $3, $4) RETURNING id`,
    [ev.subscriptionId, ev.eventNumber, endpoint, reason],
  );
  return Number(rows[0]?.id);
}

/** Puts a dead letter back in the queue (new generation, fresh attempts); returns the job to enqueue. */
export async function replayDeadLetter(tx: Db, id: number): Promise<EventRef | undefined> {
  const { rows } = await tx.query<{ subscription_id: string; event_number: number }>(
    `UPDATE dead_letter SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
     RETURNING subscription_id, event_number`,
    [id],
  );
  const dl = rows[0];
  if (!dl) return undefined;
  const u = await tx.query<{ generation: number }>(
    `UPDATE subscription_event SET status = 'queued', generation = generation + 1, attempts = 0
      WHERE subscription_id = $1 AND event_number = $2 AND status = 'dead' RETURNING generation`,
    [dl.subscription_id, dl.event_number],
  );
  if (!u.rows[0]) return undefined;
  return { subscriptionId: dl.subscription_id, eventNumber: Number(dl.event_number), generation: u.rows[0].generation };
}

/** Gives up on a dead letter: the event is marked skipped and its chain continues. */
export async function discardDeadLetter(tx: Db, id: number): Promise<EventRef | undefined> {
  const { rows } = await tx.query<{ subscription_id: string; event_number: number }>(
    `UPDATE dead_letter SET discarded_at = now() WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
     RETURNING subscription_id, event_number`,
    [id],
  );
  const dl = rows[0];
  if (!dl) return undefined;
  const ev = await getEvent(tx, dl.subscription_id, Number(dl.event_number));
  if (!ev || ev.status !== 'dead') return undefined;
  return completeEvent(tx, ev, 'skipped', 'discarded from the dead-letter queue');
}

/** Waiting events whose chain has nothing undelivered before them (repair after a crash): now queued. */
export async function releaseUnblocked(db: Db): Promise<EventRef[]> {
  const { rows } = await db.query<{ subscription_id: string; event_number: number; generation: number }>(
    `UPDATE subscription_event w SET status = 'queued'
      WHERE w.status = 'waiting' AND NOT EXISTS (
        SELECT 1 FROM subscription_event e WHERE e.subscription_id = w.subscription_id AND e.order_key = w.order_key
           AND e.event_number < w.event_number AND e.status IN ('waiting', 'queued', 'dead'))
     RETURNING w.subscription_id, w.event_number, w.generation`,
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    generation: r.generation,
  }));
}

/**
 * Queued events older than `graceMs` (their jobs may have vanished with Redis), except those still claimed by
 * the process that recorded them (being delivered there without a job). In key order, after `after` (a page's
 * last event), so a caller can page through all of them.
 */
export async function listQueued(
  db: Db,
  graceMs: number,
  limit = 2000,
  after?: Pick<EventRef, 'subscriptionId' | 'eventNumber'>,
): Promise<EventRef[]> {
  const { rows } = await db.query<{ subscription_id: string; event_number: number; generation: number }>(
    `SELECT e.subscription_id, e.event_number, e.generation FROM subscription_event e
       JOIN subscription_registry s ON s.id = e.subscription_id AND s.status IN ('active', 'error')
      WHERE e.status = 'queued' AND e.created_at < now() - ($1::int * interval '1 millisecond')
        AND (e.claimed_until IS NULL OR e.claimed_until < now())
        AND ($3::text IS NULL OR (e.subscription_id, e.event_number) > ($3::text, $4::bigint))
      ORDER BY e.subscription_id, e.event_number LIMIT $2`,
    [graceMs, limit, after?.subscriptionId ?? null, after?.eventNumber ?? 0],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    generation: r.generation,
  }));
}
