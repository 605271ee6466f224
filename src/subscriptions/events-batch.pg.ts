import type { Db } from '../store/db.port';
import { lockKeys, toEvent, type AttemptLog, type EventRef, type EventRow, type SubscriptionEvent } from './events.pg';
import { toEntry, type RegistryEntry, type RegistryRow } from './registry.pg';

/** An event with its subscription's registry row, as one delivery needs them. */
export interface EventWithRegistry {
  ev?: SubscriptionEvent;
  reg?: RegistryEntry;
}

type JoinedRow = EventRow & { [K in keyof RegistryRow as `r_${K}`]: RegistryRow[K] | null };

/** Reads many events and their registry rows in one statement; the result follows `refs`. */
export async function getEventsWithRegistry(db: Db, refs: EventRef[]): Promise<EventWithRegistry[]> {
  const { rows } = await db.query<JoinedRow>(
    `SELECT e.*, r.id AS r_id, r.status AS r_status, r.resource AS r_resource, r.scope AS r_scope,
            r.events_since_start AS r_events_since_start, r.consecutive_failures AS r_consecutive_failures,
            r.last_error AS r_last_error, r.updated_at AS r_updated_at
       FROM unnest($1::text[], $2::bigint[]) AS k(subscription_id, event_number)
       JOIN subscription_event e ON e.subscription_id = k.subscription_id AND e.event_number = k.event_number
       LEFT JOIN subscription_registry r ON r.id = e.subscription_id`,
    [refs.map((r) => r.subscriptionId), refs.map((r) => r.eventNumber)],
  );
  const found = new Map<string, EventWithRegistry>();
  for (const row of rows) {
    const reg =
      row.r_id === null
        ? undefined
        : toEntry({
            id: row.r_id,
            status: row.r_status ?? '',
            resource: row.r_resource!,
            scope: row.r_scope,
            events_since_start: row.r_events_since_start ?? 0,
            consecutive_failures: row.r_consecutive_failures ?? 0,
            last_error: row.r_last_error,
            updated_at: row.r_updated_at ?? new Date(0),
          });
    found.set(`${row.subscription_id}|${Number(row.event_number)}`, { ev: toEvent(row), reg });
  }
  return refs.map((r) => found.get(`${r.subscriptionId}|${r.eventNumber}`) ?? {});
}

/** One delivered event to close, with its attempt-log row. */
export interface Delivered {
  ev: SubscriptionEvent;
  log: AttemptLog;
}

/**
 * `completeEvent(…, 'delivered', …)` for many events in one transaction of two statements: the chains are
 * locked (hash order, see lockKeys), then one statement marks the events delivered, logs the attempts,
 * clears the subscriptions' failure state (registry rows locked in id order, and only when there is
 * something to clear or `last_sent_at` is more than a second old) and releases the next waiting event of
 * each chain. Returns the released events, to enqueue after commit.
 */
export async function completeDelivered(tx: Db, items: Delivered[]): Promise<EventRef[]> {
  if (items.length === 0) return [];
  await lockKeys(
    tx,
    items.map((i) => i.ev),
  );
  const col = <T>(f: (i: Delivered) => T) => items.map(f);
  const { rows } = await tx.query<{ subscription_id: string; event_number: number; generation: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[])
         AS t(subscription_id, event_number, order_key, endpoint, attempt, http_status, duration_ms)),
     done AS (
       UPDATE subscription_event e SET status = 'delivered', delivered_at = now(), last_error = NULL
         FROM input i WHERE e.subscription_id = i.subscription_id AND e.event_number = i.event_number
       RETURNING 1),
     att AS (
       INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status,
           error, duration_ms)
       SELECT subscription_id, event_number, 'event', endpoint, attempt, 'delivered', http_status, NULL, duration_ms
         FROM input),
     reg AS (
       UPDATE subscription_registry SET consecutive_failures = 0, last_sent_at = now(), last_error = NULL
        WHERE id IN (SELECT r.id FROM subscription_registry r
                      WHERE r.id IN (SELECT subscription_id FROM input)
                        AND (r.consecutive_failures <> 0 OR r.last_error IS NOT NULL OR r.last_sent_at IS NULL
                             OR r.last_sent_at < now() - interval '1 second')
                      ORDER BY r.id FOR UPDATE)),
     chains AS (SELECT DISTINCT subscription_id, order_key FROM input),
     nxt AS (
       SELECT DISTINCT ON (e.subscription_id, e.order_key) e.subscription_id, e.event_number, e.status
         FROM subscription_event e
         JOIN chains c ON c.subscription_id = e.subscription_id AND c.order_key = e.order_key
        WHERE e.status IN ('waiting', 'queued', 'dead')
          AND NOT EXISTS (SELECT 1 FROM input i WHERE i.subscription_id = e.subscription_id
                             AND i.event_number = e.event_number)
        ORDER BY e.subscription_id, e.order_key, e.event_number)
     UPDATE subscription_event e SET status = 'queued' FROM nxt
      WHERE e.subscription_id = nxt.subscription_id AND e.event_number = nxt.event_number AND nxt.status = 'waiting'
     RETURNING e.subscription_id, e.event_number, e.generation`,
    [
      col((i) => i.ev.subscriptionId),
      col((i) => i.ev.eventNumber),
      col((i) => i.ev.orderKey),
      col((i) => i.log.endpoint),
      col((i) => i.log.attempt),
      col((i) => i.log.httpStatus ?? null),
      col((i) => i.log.durationMs ?? 0),
    ],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    generation: r.generation,
  }));
}
