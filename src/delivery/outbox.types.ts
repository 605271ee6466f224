import type { Db } from '../store/db.port';

/** One `outbox` row as it travels in a consumer's BullMQ job (small: ids and keys, no documents). */
export interface OutboxEvent {
  outboxId: number;
  kind: string;
  resourceType: string | null;
  resourceId: string | null;
  versionId: string | null;
  action: string | null;
  stayKey: string | null;
  payload: Record<string, unknown>;
  /** When the writing transaction ran (ISO); the start of the commit → delivery latency. */
  createdAt: string;
  /**
   * The changed resource at `versionId` as stored (JSON text), read by the relay in its pass for the inline
   * consumers (the matcher then needs no read of its own). Never in a job: `jobData` leaves it out.
   */
  focusJson?: string;
}

export interface OutboxRow {
  id: number;
  kind: string;
  resource_type: string | null;
  resource_id: string | null;
  version_id: string | null;
  action: string | null;
  stay_key: string | null;
  payload: Record<string, unknown> | null;
  created_at: Date | string;
  focus_json?: string | null;
}

export function toOutboxEvent(r: OutboxRow): OutboxEvent {
  return {
    outboxId: Number(r.id),
    kind: r.kind,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    versionId: r.version_id,
    action: r.action,
    stayKey: r.stay_key,
    payload: r.payload ?? {},
    createdAt: new Date(r.created_at).toISOString(),
    ...(r.focus_json ? { focusJson: r.focus_json } : {}),
  };
}

/** What a consumer's BullMQ job carries of a row: everything but the relay's prefetched focus. */
export function jobData(e: OutboxEvent): OutboxEvent {
  if (e.focusJson === undefined) return e;
  const { focusJson: _, ...rest } = e;
  return rest;
}

/**
 * A consumer's handler. It runs inside one transaction together with the consumer's processed marker, so a
 * row is handled once per consumer even when its job runs twice (BullMQ is at-least-once). It may return a
 * function to run after the commit (e.g. enqueue follow-up jobs); that must itself be idempotent.
 */
export type OutboxProcessor = (event: OutboxEvent, tx: Db) => Promise<void | (() => Promise<void>)>;

/**
 * A consumer's handler for many rows at once (set-based), inside one transaction with all their markers, given
 * in outbox order. Same contract as `OutboxProcessor`; when it throws, the rows are retried one by one.
 */
export type OutboxBatchProcessor = (events: OutboxEvent[], tx: Db) => Promise<void | (() => Promise<void>)>;

/** BullMQ job id of an outbox row in every consumer queue (deduplication key). */
export const outboxJobId = (id: number): string => `ob-${id}`;
