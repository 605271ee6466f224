import type { Queue, Worker } from 'bullmq';

interface OwnConnection {
  status?: string;
  quit?: () => Promise<unknown>;
  disconnect?: () => void;
}

const connectionOf = (q: Queue | Worker): OwnConnection | undefined => q.opts.connection as OwnConnection | undefined;

/** Drops the ioredis connection a queue or worker was given, at once (after a forced close). */
export function dropConnection(q: Queue | Worker | undefined): void {
  if (q) connectionOf(q)?.disconnect?.();
}

/**
 * Closes a queue or worker made by `createQueue`/`createWorker` (src/platform/queues.ts) **and** the ioredis
 * connection it was given. BullMQ treats a connection passed in as an instance as shared and leaves it open on
 * `close()`; once Redis is gone it then reconnects for ever and keeps the process alive (the delivery
 * benchmark did not exit after printing because of this). `force` (workers): do not wait for active jobs.
 */
export async function closeWithConnection(q: Queue | Worker, force = false): Promise<void> {
  await (force ? (q as Worker).close(true) : q.close());
  const c = connectionOf(q);
  if (!c?.disconnect) return;
  if (c.status === 'ready' && c.quit) await c.quit().catch(() => c.disconnect?.());
  else c.disconnect();
}
