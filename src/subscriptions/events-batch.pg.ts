import type { Db } from '../store/db.port';
import { toEvent, type AttemptLog, type EventRef, type EventRow, type SubscriptionEvent } from './events.pg';
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
 * `completeEvent(…, 'delivered', …)` for many events in one call (`svu_complete_delivered`, migration 042; on a
 * root handle it is its own transaction, one round trip): the chains are locked (hash order, see lockKey), then
 * one statement marks the events delivered, logs the attempts, clears the subscriptions' failure state
 * (registry rows locked in id order, and only when there is something to clear or `last_sent_at` is more than a
 * second old) and releases the next waiting event of each chain. Returns the released events, to enqueue after
 * commit.
 */
export async function completeDelivered(db: Db, items: Delivered[]): Promise<EventRef[]> {
  if (items.length === 0) return [];
  const col = <T>(f: (i: Delivered) => T) => items.map(f);
  const { rows } = await db.query<{ o_sub: string; o_num: number; o_gen: number }>(
    'SELECT o_sub, o_num, o_gen FROM svu_complete_delivered($1, $2, $3, $4, $5, $6, $7)',
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
  return rows.map((r) => ({ subscriptionId: r.o_sub, eventNumber: Number(r.o_num), generation: r.o_gen }));
}
