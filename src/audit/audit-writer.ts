import type { AuditEvent } from '@medplum/fhirtypes';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import type { Logger } from '../platform/logger';

/** Where audit events go. `record` never blocks the request; `flush` waits until everything recorded is stored. */
export interface AuditSink {
  record(event: AuditEvent): void;
  flush(): Promise<void>;
  /** Flushes, then stops the timer. Events recorded after close are written at once, one by one. */
  close(): Promise<void>;
  /**
   * Writes `event` now in the caller's transaction `tx`, the same write as a batch's (the repository, `silent`), so it
   * commits or rolls back with the caller's writes: for an audit that must not be lost when the process stops (a
   * client's security attributes changed). Its failure is the caller's: the transaction does not commit.
   */
  writeIn(tx: Db, event: AuditEvent): Promise<void>;
}

export interface AuditWriterOptions {
  db: Db;
  /** `(tx) => createRepository(tx, { system: true })` from src/store/repository.pg.ts. */
  repository: (db: Db) => FhirRepository;
  logger: Logger;
  metrics?: Registry;
  /** Write a batch at most this long after its first event (ms). */
  flushIntervalMs?: number;
  /** Write at once when this many events wait. */
  batchSize?: number;
}

/**
 * Buffers AuditEvents in memory and writes them in small batches, one transaction per batch, via the
 * repository (`silent`: no outbox row). A request pays only an array push; a crash loses at most the events of
 * the last `flushIntervalMs` (default 25 ms). A failed batch is kept and retried with backoff, in order; if
 * the backlog passes 50 000 events the oldest are dropped and counted (`audit_events_dropped_total`), so a
 * database outage cannot exhaust memory.
 */
export function createAuditWriter(opts: AuditWriterOptions): AuditSink {
  const interval = opts.flushIntervalMs ?? 25;
  const batchSize = opts.batchSize ?? 200;
  const maxBacklog = 50_000;
  let queue: AuditEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  let failures = 0;

  const reg = opts.metrics ? [opts.metrics] : [];
  const written = new Counter({ name: 'audit_events_written_total', help: 'AuditEvents stored', registers: reg });
  const dropped = new Counter({
    name: 'audit_events_dropped_total',
    help: 'AuditEvents dropped (backlog overflow)',
    registers: reg,
  });
  const backlog = new Gauge({
    name: 'audit_events_pending',
    help: 'AuditEvents waiting to be written',
    registers: reg,
  });

  /** One transaction per batch; one write statement for all its events where the repository can (`createMany`). */
  async function writeBatch(batch: AuditEvent[]): Promise<void> {
    const repo = opts.repository(opts.db);
    if (repo.createMany) {
      await repo.createMany(batch, { silent: true });
      return;
    }
    await opts.db.transaction(async (tx) => {
      const inTx = opts.repository(tx);
      for (const e of batch) await inTx.create(e, { silent: true });
    });
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      try {
        await writeBatch(batch);
        queue = queue.slice(batch.length);
        written.inc(batch.length);
        failures = 0;
      } catch (err) {
        failures++;
        opts.logger.warn('audit batch write failed; will retry', {
          error: err instanceof Error ? err.message : String(err),
          pending: queue.length,
        });
        if (closed) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5000)));
      }
      backlog.set(queue.length);
    }
  }

  function kick(): void {
    if (running) return;
    running = drain().finally(() => {
      running = undefined;
      if (queue.length > 0 && !closed) schedule();
    });
    running.catch(() => undefined);
  }

  function schedule(): void {
    if (timer || running) return;
    timer = setTimeout(() => {
      timer = undefined;
      kick();
    }, interval);
    timer.unref();
  }

  return {
    record(event) {
      queue.push(event);
      if (queue.length > maxBacklog) {
        const n = queue.length - maxBacklog;
        queue.splice(0, n);
        dropped.inc(n);
        opts.logger.error('audit backlog overflow: oldest events dropped', { dropped: n });
      }
      backlog.set(queue.length);
      if (closed) kick();
      else if (queue.length >= batchSize) kick();
      else schedule();
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      while (running || queue.length > 0) {
        if (!running) kick();
        await running?.catch(() => undefined);
        if (closed && queue.length > 0 && !running) break;
      }
    },
    async close() {
      closed = true;
      await this.flush();
    },
    async writeIn(tx, event) {
      await opts.repository(tx).create(event, { silent: true });
      written.inc();
    },
  };
}
