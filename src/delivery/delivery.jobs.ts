import type { JobsOptions } from 'bullmq';
import type { EventRef } from '../subscriptions/events.pg';
import { eventJobId } from '../subscriptions/events.pg';

/** The notification queue: one job per event delivery, handshake or heartbeat. Jobs carry ids only. */
export const DELIVERY_QUEUE = 'delivery';

export type DeliveryJob =
  | ({ kind: 'event' } & EventRef)
  | { kind: 'handshake'; subscriptionId: string }
  | { kind: 'heartbeat'; subscriptionId: string };

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
}

/** Exponential backoff with jitter (between half and the full delay), capped at one hour. */
export function backoffDelay(attemptsMade: number, baseMs: number): number {
  const full = Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), 3_600_000);
  return Math.round(full / 2 + Math.random() * (full / 2));
}

export function eventJob(ref: EventRef, p: RetryPolicy): { name: string; data: DeliveryJob; opts: JobsOptions } {
  return {
    name: 'event',
    // the ref's own fields only (a recorded event carries more: see RecordedEvent)
    data: {
      kind: 'event',
      subscriptionId: ref.subscriptionId,
      eventNumber: ref.eventNumber,
      generation: ref.generation,
    },
    // PostgreSQL counts attempts (durable across Redis loss) and decides the dead letter; BullMQ only retries.
    opts: { jobId: eventJobId(ref), attempts: p.maxAttempts + 5, backoff: { type: 'svu' } },
  };
}

export function handshakeJob(subscriptionId: string, versionId: string) {
  return {
    name: 'handshake',
    data: { kind: 'handshake', subscriptionId } as DeliveryJob,
    opts: { jobId: `hs-${subscriptionId}-${versionId}`, attempts: 3, backoff: { type: 'svu' } } as JobsOptions,
  };
}

export function heartbeatJob(subscriptionId: string, at: number) {
  return {
    name: 'heartbeat',
    data: { kind: 'heartbeat', subscriptionId } as DeliveryJob,
    opts: { jobId: `hb-${subscriptionId}-${at}`, attempts: 1 } as JobsOptions,
  };
}
