import { isConnectionError } from '../platform/dependency-watch';
import type { Express } from 'express';
import { Counter, Histogram } from 'prom-client';
import type { AppContext, Capability, Role } from '../compose.types';
import type { Agreement } from '../core/agreements/agreement.schema';
import type { OutboxProcessor } from '../delivery/outbox.types';
import type { ConsumerOptions } from '../delivery/delivery-service';
import { loadAgreements } from '../agreements/load-agreements';
import { createRepository } from '../store/repository.pg';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import { ManualClock } from '../platform/clock';
import { DEADLINE_EVENTS_CONSUMER, DeadlineService } from './deadline-service';
import { mountDeadlineRoutes } from './deadlines.routes';

export { DeadlineService, DEADLINE_EVENTS_CONSUMER } from './deadline-service';

export interface DeadlinesDeps {
  delivery?: { registerOutboxConsumer(name: string, processor: OutboxProcessor, opts?: ConsumerOptions): void };
  /** Loaded agreements (default: `loadAgreements({ extraDir: AGREEMENTS_DIR })` at start). */
  agreements?: Map<string, Agreement>;
  /** Repository factory (default: the store's `createRepository(db, { system: true })`). */
  repository?: (db: Db) => FhirRepository;
  /** How often the reconciler re-arms lost timers (default 60 s). */
  reconcileEveryMs?: number;
}

export interface DeadlinesCapability extends Capability {
  /** The running service (after `start` with the worker role). */
  service(): DeadlineService | undefined;
}

/**
 * Deadline enforcement: for the `worker` role, the timer worker, the `deadline-events` outbox consumer and
 * the periodic reconciler; for every role, the deadline views under `/admin/api`. See docs/deadlines.md.
 */
export function createDeadlinesCapability(ctx: AppContext, deps: DeadlinesDeps = {}): DeadlinesCapability {
  let service: DeadlineService | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribeClock: (() => void) | undefined;
  let minHolidayDays = 3;
  let running: Promise<void> | undefined;
  let ready!: (s: DeadlineService) => void;
  const serviceReady = new Promise<DeadlineService>((resolve) => (ready = resolve));
  // The delivery capability takes consumers before it starts (it starts first): register now, and let the
  // events wait until this capability's worker is up.
  // If the worker never comes up, an event fails after 30 s (and is retried) instead of holding its transaction.
  let readyService: DeadlineService | undefined;
  void serviceReady.then((s) => (readyService = s));
  const started = async (): Promise<DeadlineService> => {
    if (readyService) return readyService; // the usual case: no timer per batch
    let timeout: NodeJS.Timeout | undefined;
    const notReady = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error('the deadline worker is not running')), 30_000);
      timeout.unref();
    });
    try {
      return await Promise.race([serviceReady, notReady]);
    } finally {
      clearTimeout(timeout);
    }
  };
  // Handled in the relay's pass next to the matcher (no BullMQ job per row), with the changed Task read along;
  // the matcher marks the rows dispatched, so this consumer's transaction never waits for the matcher's.
  deps.delivery?.registerOutboxConsumer(
    DEADLINE_EVENTS_CONSUMER,
    async (event, tx) => (await started()).outboxProcessor(event, tx),
    {
      batch: { processor: async (events, tx) => (await started()).outboxBatch(events, tx) },
      inline: true,
      marksDispatched: false,
      focusTypes: () => ['Task'],
    },
  );
  const repo = deps.repository ?? ((db: Db) => createRepository(db, { system: true }, undefined, { clock: ctx.clock }));
  const fired = new Counter({
    name: 'svu_deadline_steps_total',
    help: 'Deadline ladder step wake-ups by result (fired, stale, superseded, not-yet)',
    labelNames: ['result'],
    registers: [ctx.metrics],
  });
  const lag = new Histogram({
    name: 'svu_deadline_fire_lag_seconds',
    help: 'Time from a ladder step being due to its effects being committed',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300],
    registers: [ctx.metrics],
  });

  return {
    name: 'deadlines',
    service: () => service,
    mountRoutes(app: Express) {
      mountDeadlineRoutes(app, {
        db: ctx.db,
        clock: ctx.clock,
        majorHolidayMinDays: () => minHolidayDays,
        repo: (db, scope) => createRepository(db, scope, undefined, { clock: ctx.clock }),
      });
    },
    async start(roles: ReadonlySet<Role>) {
      const agreements = deps.agreements ?? (await loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR }));
      minHolidayDays = agreements.get(ctx.config.AGREEMENT)?.holidays.majorHolidayMinDays ?? 3;
      if (!roles.has('worker')) return;
      service = new DeadlineService({
        db: ctx.db,
        redisUrl: ctx.redisUrl,
        prefix: ctx.config.QUEUE_PREFIX,
        clock: ctx.clock,
        logger: ctx.logger.child({ capability: 'deadlines' }),
        agreements,
        defaultAgreement: ctx.config.AGREEMENT,
        repo,
        concurrency: ctx.config.WORKER_CONCURRENCY,
        onFired: (data, result) => {
          fired.inc({ result });
          if (result === 'fired') lag.observe(Math.max(0, ctx.clock.now().getTime() - data.due) / 1000);
        },
      });
      const s = service;
      if (!deps.delivery) ctx.logger.warn('deadlines: no delivery capability, so no Task change reaches the ladder');
      s.startWorker();
      ready(s);
      // One reconciler pass at a time (a pass over a million pending steps takes minutes); the first one runs
      // in the background so a large backlog does not hold up start-up.
      const pass = (): void => {
        if (running) return;
        running = s
          .reconcile()
          .then(() => s.promoteDue())
          .then(() => undefined)
          .catch((e: Error) => {
            if (!isConnectionError(e)) ctx.logger.warn('deadline reconcile failed', { error: e.message });
          })
          .finally(() => (running = undefined));
      };
      pass();
      timer = setInterval(pass, deps.reconcileEveryMs ?? 60_000);
      timer.unref();
      if (ctx.clock instanceof ManualClock) {
        unsubscribeClock = ctx.clock.onChange(() => {
          s.promoteDue().catch((e: Error) => ctx.logger.warn('deadline promote failed', { error: e.message }));
        });
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribeClock?.();
      await running;
      await service?.close();
    },
  };
}
