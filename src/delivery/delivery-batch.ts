import type { Queue } from 'bullmq';
import type { Resource } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { completeEvent, getEvent, type EventRef } from '../subscriptions/events.pg';
import {
  completeDelivered,
  getEventsWithRegistry,
  type Delivered,
  type EventWithRegistry,
} from '../subscriptions/events-batch.pg';
import { getRegistryEntry } from '../subscriptions/registry.pg';
import { eventJob, type DeliveryJob, type RetryPolicy } from './delivery.jobs';
import { createMicroBatcher } from './micro-batch';
import { addToFocusGroup, readAs, readManyAs, type FocusGroup, type RepositoryFactory } from './resource-access';

/**
 * What a delivery needs before its POST: the event, its subscription's registry row, and the focus as the
 * subscriber may read it now (`current`: `null` when it may not, `undefined` when not checked: deletes,
 * inactive subscriptions, events no longer queued).
 */
export interface PreparedDelivery extends EventWithRegistry {
  current?: Resource | null;
}

export interface DeliveryBatchDeps {
  db: Db;
  repos: RepositoryFactory;
  queue: Queue<DeliveryJob>;
  retry: RetryPolicy;
  logger: Logger;
}

const ACTIVE = new Set(['active', 'error']);
const needsFocus = (p: EventWithRegistry, ref: EventRef): boolean =>
  !!p.ev &&
  p.ev.status === 'queued' &&
  p.ev.generation === ref.generation &&
  p.ev.action !== 'delete' &&
  !!p.reg?.scope &&
  ACTIVE.has(p.reg.status);

async function prepareMany(d: DeliveryBatchDeps, refs: EventRef[]): Promise<PreparedDelivery[]> {
  const loaded: PreparedDelivery[] = await getEventsWithRegistry(d.db, refs);
  // Access re-check: one statement for every (subscription, focus type) group instead of a read per event.
  const groups = new Map<string, FocusGroup<PreparedDelivery>>();
  loaded.forEach((p, i) => {
    if (needsFocus(p, refs[i]!)) addToFocusGroup(groups, p.reg!.id, p.reg!.scope!, p.ev!.focusType, p.ev!.focusId, p);
  });
  if (groups.size === 0) return loaded;
  const list = [...groups.values()];
  const visible = await readManyAs(d.db, list);
  list.forEach((g, i) => {
    for (const p of g.items) p.current = visible[i]!.get(p.ev!.focusId) ?? null;
  });
  return loaded;
}

async function prepareOne(d: DeliveryBatchDeps, ref: EventRef): Promise<PreparedDelivery> {
  const [ev, reg] = await Promise.all([
    getEvent(d.db, ref.subscriptionId, ref.eventNumber),
    getRegistryEntry(d.db, ref.subscriptionId),
  ]);
  const p: PreparedDelivery = { ev, reg };
  if (needsFocus(p, ref))
    p.current =
      (await readAs(d.repos, d.db, reg!.scope!, ev!.focusType as Resource['resourceType'], ev!.focusId)) ?? null;
  return p;
}

/**
 * Group commit for the delivery worker: concurrently running delivery jobs read their events, registry rows
 * and focus resources together (`prepare`), and close delivered events together (`complete`: one
 * transaction, released successors enqueued with one addBulk). Each falls back to the one-event path when
 * a batch fails.
 */
export function createDeliveryBatchers(d: DeliveryBatchDeps) {
  const enqueue = async (refs: EventRef[]) => {
    if (refs.length) await d.queue.addBulk(refs.map((r) => eventJob(r, d.retry)));
  };
  const onBatchError = (what: string) => (err: unknown, size: number) =>
    d.logger.warn(`delivery ${what} batch failed; retrying one by one`, { size, error: String(err) });
  const prepare = createMicroBatcher<EventRef, PreparedDelivery>({
    maxBatch: 100,
    maxInFlight: 2,
    runBatch: (refs) => prepareMany(d, refs),
    runOne: (ref) => prepareOne(d, ref),
    onBatchError: onBatchError('read'),
  });
  const complete = createMicroBatcher<Delivered, void>({
    maxBatch: 100,
    maxInFlight: 2,
    runBatch: async (items) => {
      const next = await completeDelivered(d.db, items); // one call, its own transaction
      // After commit the events are delivered whatever happens here; a successor whose job could not be
      // added stays `queued` and the delivery reconciler adds it (as when a single enqueue fails).
      await enqueue(next).catch((err: unknown) =>
        d.logger.warn('could not enqueue released events; the reconciler will', { error: String(err) }),
      );
      return items.map(() => undefined);
    },
    runOne: async (item) => {
      const next = await d.db.transaction((tx) => completeEvent(tx, item.ev, 'delivered', undefined, item.log));
      await enqueue(next ? [next] : []);
    },
    onBatchError: onBatchError('completion'),
  });
  return { prepare: (ref: EventRef) => prepare.submit(ref), complete: (item: Delivered) => complete.submit(item) };
}
