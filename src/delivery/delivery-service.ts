import { isConnectionError } from '../platform/dependency-watch';
import type { Queue, Worker } from 'bullmq';
import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { DeliveryMetrics } from '../platform/metrics';
import { createQueue, createWorker, redisConnection } from '../platform/queues';
import {
  discardDeadLetter,
  eventJobId,
  listQueued,
  releaseUnblocked,
  replayDeadLetter,
  type EventRef,
} from '../subscriptions/events.pg';
import { createSubscriptionMatcher, SUBSCRIPTION_MATCH_CONSUMER } from '../subscriptions/matcher';
import { createRegistryCache, getRegistryEntry } from '../subscriptions/registry.pg';
import { setSubscriptionStatus } from '../subscriptions/subscription-status';
import { CircuitBreakers, type BreakerOptions } from './circuit-breaker';
import { SharedCircuitBreakers } from './shared-breaker';
import {
  backoffDelay,
  DELIVERY_QUEUE,
  eventJob,
  handshakeJob,
  heartbeatJob,
  type DeliveryJob,
  type RetryPolicy,
} from './delivery.jobs';
import type { PreparedDelivery } from './delivery-batch';
import { createDeliveryProcessor } from './delivery.worker';
import { createDirectDispatcher, type DirectDispatcher } from './direct-dispatch';
import { closeWithConnection, dropConnection } from '../platform/close-bullmq';
import { handleOutboxBatch, startOutboxConsumer, type OutboxConsumerOptions } from './outbox-consumer';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay';
import type { OutboxEvent, OutboxProcessor } from './outbox.types';
import { jobsGone } from './job-state';
import type { RepositoryFactory } from './resource-access';

/** The events reconciler checks at most this many queued events per pass (then goes on in the next). */
const RECONCILE_EVENTS_PER_PASS = 20_000;

export interface DeliveryServiceOptions {
  db: Db;
  redisUrl: string;
  prefix: string;
  repos: RepositoryFactory;
  logger: Logger;
  clock: Clock;
  metrics?: DeliveryMetrics;
  canonicalBase: string;
  fhirBase: string;
  timeoutMs: number;
  retry: RetryPolicy;
  concurrency: number;
  /** Delivery jobs at once (default `concurrency`); jobs in flight are what lets a group-commit batch form. */
  deliveryConcurrency?: number;
  /** Jobs the matcher runs at once (default max(concurrency, 64)); they are handled in batches. */
  matchConcurrency?: number;
  breaker?: BreakerOptions;
  /** Share breaker state between processes through Redis (default true). */
  sharedBreaker?: boolean;
  errorAfter?: number;
  pollMs?: number;
  reconcileMs?: number;
  reconcileGraceMs?: number;
  heartbeatTickMs?: number;
  /** BullMQ lock duration: a job whose worker died is taken over after about this long (default 30 s). */
  lockMs?: number;
  /** How long `stop()` waits for in-flight jobs before forcing (default 10 s). */
  stopTimeoutMs?: number;
  /**
   * First attempts of the events matched in this process without a BullMQ job (direct-dispatch.ts; default
   * true). Retries, postponed and overflowing events use the `delivery` queue either way.
   */
  directDispatch?: boolean;
}

export interface ConsumerOptions {
  /** Keep outbox order per stay for this consumer (see outbox-consumer.ts). Default true. */
  ordered?: boolean;
  concurrency?: number;
  /** Group commit of concurrently running jobs (see outbox-consumer.ts); the matcher uses it. */
  batch?: OutboxConsumerOptions['batch'];
  /**
   * Handle the rows in the relay's own pass, with `batch.processor` (no BullMQ job per row; the queue and its
   * worker stay for rows whose inline handling failed and for the reconciler). The matcher uses it.
   */
  inline?: boolean;
  /**
   * Inline only: whether this consumer's transaction marks the rows dispatched (default true). A consumer handled
   * next to another that does (the matcher) leaves it to that one, so the two transactions never wait for each other.
   */
  marksDispatched?: boolean;
  /** Inline only: the resource types whose changed resource the relay reads along (`InlineConsumer.focusTypes`). */
  focusTypes?: () => string[];
  /**
   * Inline only: handles the relay's rows instead of `handleOutboxBatch` with `batch.processor` (the same contract:
   * markers written and rows marked dispatched together with the work; the matcher's one-statement path).
   */
  inlineHandle?: (db: Db, consumer: string, events: OutboxEvent[], ordered: boolean) => Promise<unknown>;
}

export function createDeliveryService(o: DeliveryServiceOptions) {
  const consumers = new Map<string, { processor: OutboxProcessor; opts: ConsumerOptions }>();
  // Shared by the worker processes through Redis (see shared-breaker.ts); `sharedBreaker: false` keeps it local.
  const breakers =
    o.sharedBreaker === false
      ? new CircuitBreakers(o.breaker)
      : new SharedCircuitBreakers({ ...o.breaker, prefix: o.prefix, connect: () => redisConnection(o.redisUrl) });
  let queue: Queue<DeliveryJob> | undefined;
  let relay: OutboxRelay | undefined;
  const workers: Worker[] = [];
  /** The outbox consumers' workers: their processors may belong to other capabilities (see `drain`). */
  const consumerWorkers: Worker[] = [];
  let drained: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];
  /**
   * The first step of a shutdown: stops the relay and lets the outbox consumers finish the jobs they hold, then
   * closes them. Their processors may be other capabilities' code (e.g. the deadlines' `deadline-events`), so
   * this runs before any capability stops (`Capability.drain`); a consumer left running would call into one
   * already closed. Idempotent; gives up after `stopTimeoutMs` (e.g. Redis already gone), and `stop` then forces.
   */
  const drain = (): Promise<void> =>
    (drained ??= Promise.race([
      (async () => {
        await relay?.stop();
        await Promise.all(consumerWorkers.map((w) => closeWithConnection(w)));
      })(),
      new Promise<void>((r) => setTimeout(r, o.stopTimeoutMs ?? 10_000).unref()),
    ]));
  const deliveryQueue = (): Queue<DeliveryJob> =>
    (queue ??= createQueue<DeliveryJob>(DELIVERY_QUEUE, { redisUrl: o.redisUrl, prefix: o.prefix }));

  async function enqueueEvents(refs: EventRef[]): Promise<void> {
    if (refs.length) await deliveryQueue().addBulk(refs.map((r) => eventJob(r, o.retry)));
  }

  // Direct dispatch (started with the delivery worker): a claimed event must start within `startWithinMs`
  // and its POST is bounded by `timeoutMs`; the claim adds the reconcile grace on top of both.
  const graceMs = o.reconcileGraceMs ?? 10_000;
  const startWithinMs = Math.max(100, graceMs / 2);
  let direct: DirectDispatcher | undefined;
  const claimMs = () => (direct ? startWithinMs + o.timeoutMs + graceMs : 0);
  /** Events the matcher just recorded: delivered here when claimed for direct dispatch, else jobs. */
  async function dispatchEvents(refs: EventRef[], prepared?: ReadonlyMap<string, PreparedDelivery>): Promise<void> {
    if (direct) direct.push(refs, prepared);
    else await enqueueEvents(refs);
  }

  const registry = createRegistryCache(o.db, o.canonicalBase, undefined, (subscriptionId, problem) =>
    o.logger.warn('subscription cannot be matched; it receives no notifications until fixed', {
      subscriptionId,
      problem,
    }),
  );
  const matcher = createSubscriptionMatcher({
    repos: o.repos,
    subscriptions: registry,
    enqueueEvents: dispatchEvents,
    claimMs,
    enqueueHandshake: async (id, v) => {
      const j = handshakeJob(id, v);
      await deliveryQueue().add(j.name, j.data, j.opts);
    },
    logger: o.logger,
  });
  // The matcher handles the rows of concurrently fetched jobs together (group commit): more jobs in flight
  // than database connections is what lets a batch form.
  consumers.set(SUBSCRIPTION_MATCH_CONSUMER, {
    processor: matcher.one,
    opts: {
      ordered: true,
      concurrency: o.matchConcurrency ?? Math.max(o.concurrency, 64),
      batch: { processor: matcher.batch, maxBatch: 100, maxInFlight: 2 },
      inline: true,
      focusTypes: matcher.focusTypes,
      inlineHandle: matcher.inline,
    },
  });

  let reconcileAfter: EventRef | undefined;
  /** Re-enqueue queued events whose jobs are gone and release chains a crash left waiting. */
  async function reconcileEvents(): Promise<number> {
    const released = await releaseUnblocked(o.db);
    await enqueueEvents(released);
    const q = deliveryQueue();
    let readded = 0;
    // Every queued event is checked, however many: pages on from where the last pass stopped (see the outbox
    // reconciler), at most RECONCILE_EVENTS_PER_PASS per pass.
    for (let checked = 0; checked < RECONCILE_EVENTS_PER_PASS;) {
      const queued = await listQueued(o.db, graceMs, 1000, reconcileAfter);
      checked += queued.length;
      for (let i = 0; i < queued.length; i += 200) {
        const chunk = queued.slice(i, i + 200);
        const jobs = await Promise.all(chunk.map((r) => q.getJob(eventJobId(r))));
        const missing = await jobsGone(chunk, jobs);
        await enqueueEvents(missing);
        readded += missing.length;
      }
      reconcileAfter = queued.length === 1000 ? queued[queued.length - 1] : undefined;
      if (!reconcileAfter) break;
    }
    if (readded > 0) o.logger.warn('delivery reconciler re-enqueued events whose jobs vanished', { readded });
    return readded + released.length;
  }

  async function heartbeatTick(): Promise<void> {
    const { rows } = await o.db.query<{ id: string }>(
      `UPDATE subscription_registry SET last_sent_at = now()
        WHERE status IN ('active', 'error') AND heartbeat_seconds > 0
          AND (last_sent_at IS NULL OR last_sent_at < now() - heartbeat_seconds * interval '1 second')
        RETURNING id`,
    );
    const at = Date.now();
    if (rows.length) await deliveryQueue().addBulk(rows.map((r) => heartbeatJob(r.id, at)));
  }

  const closeBreakers = async () => {
    if (breakers instanceof SharedCircuitBreakers) await breakers.close();
  };

  const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
    const t = setInterval(() => {
      fn().catch((err: unknown) => {
        if (!isConnectionError(err)) o.logger.warn(`${what} failed`, { error: String(err) });
      });
    }, ms);
    timers.push(t);
  };

  return {
    breakers,
    deliveryQueue,
    enqueueEvents,
    reconcileEvents,
    /** Events handed to direct dispatch and how many of them went to the queue instead (tests, diagnostics). */
    directStats: () => direct?.stats(),
    get relay(): OutboxRelay | undefined {
      return relay;
    },
    /** Adds an outbox consumer: its own BullMQ queue `name`, fed by the relay. Call before `start()`. */
    registerOutboxConsumer(name: string, processor: OutboxProcessor, opts: ConsumerOptions = {}): void {
      if (relay) throw new Error(`registerOutboxConsumer(${name}) after start`);
      if (consumers.has(name)) throw new Error(`outbox consumer ${name} is already registered`);
      consumers.set(name, { processor, opts });
    },
    consumerNames: (): string[] => [...consumers.keys()],
    /** Starts the relay, the consumers, the delivery worker and the timers (role `worker`). */
    start(): void {
      relay = createOutboxRelay({
        db: o.db,
        redisUrl: o.redisUrl,
        prefix: o.prefix,
        consumers: [...consumers.keys()],
        logger: o.logger,
        pollMs: o.pollMs,
        reconcileMs: o.reconcileMs,
        reconcileGraceMs: o.reconcileGraceMs,
        inline: [...consumers]
          .filter(([, c]) => c.opts.inline && c.opts.batch)
          .map(([name, c]) => {
            const marksDispatched = c.opts.marksDispatched !== false;
            return {
              consumer: name,
              focusTypes: c.opts.focusTypes,
              marksDispatched,
              handle: (events: OutboxEvent[]) =>
                c.opts.inlineHandle
                  ? c.opts.inlineHandle(o.db, name, events, c.opts.ordered ?? true)
                  : handleOutboxBatch(o.db, name, events, c.opts.batch!.processor, c.opts.ordered ?? true, {
                      dispatch: marksDispatched,
                    }),
            };
          }),
      });
      for (const [name, c] of consumers) {
        consumerWorkers.push(
          startOutboxConsumer(name, c.processor, {
            db: o.db,
            redisUrl: o.redisUrl,
            prefix: o.prefix,
            logger: o.logger,
            ordered: c.opts.ordered ?? true,
            concurrency: c.opts.concurrency ?? 8,
            batch: c.opts.batch,
          }),
        );
      }
      const processor = createDeliveryProcessor({ ...o, queue: deliveryQueue(), breakers });
      if (o.directDispatch !== false)
        direct = createDirectDispatcher({
          concurrency: o.deliveryConcurrency ?? o.concurrency,
          startWithinMs,
          maxWaiting: 20_000,
          deliver: (ref, ready) => processor.deliver(ref, o.timeoutMs, ready),
          handOff: async (items) => {
            await deliveryQueue().addBulk(
              items.map(({ ref, delayMs }) => {
                const j = eventJob(ref, o.retry);
                return { ...j, opts: { ...j.opts, delay: delayMs } };
              }),
            );
          },
          retryDelayMs: () => backoffDelay(1, o.retry.backoffMs),
          logger: o.logger,
        });
      const w = createWorker<DeliveryJob>(
        DELIVERY_QUEUE,
        processor.process,
        { redisUrl: o.redisUrl, prefix: o.prefix },
        {
          concurrency: o.deliveryConcurrency ?? o.concurrency,
          settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, o.retry.backoffMs) },
        },
      );
      w.on('error', (err) => {
        if (!isConnectionError(err)) o.logger.warn('delivery worker error', { error: err.message });
      });
      workers.push(w);
      relay.start();
      if (breakers instanceof SharedCircuitBreakers) breakers.start();
      every(o.heartbeatTickMs ?? 1000, heartbeatTick, 'heartbeat tick');
      every(o.reconcileMs ?? 5000, reconcileEvents, 'delivery reconciler');
    },
    nudge(): void {
      relay?.nudge();
    },
    async replayDeadLetter(id: number): Promise<EventRef | undefined> {
      const ref = await o.db.transaction((tx) => replayDeadLetter(tx, id));
      if (!ref) return undefined;
      // A subscription switched off for failing is switched back on by the admin's replay.
      const reg = await getRegistryEntry(o.db, ref.subscriptionId);
      if (reg?.status === 'off') await setSubscriptionStatus(o.db, o.repos, reg.id, 'active', undefined, o.logger);
      await enqueueEvents([ref]);
      return ref;
    },
    async discardDeadLetter(id: number): Promise<boolean> {
      const row = await o.db.query(
        'SELECT 1 FROM dead_letter WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL',
        [id],
      );
      if (!row.rows.length) return false;
      const next = await o.db.transaction((tx) => discardDeadLetter(tx, id));
      if (next) await enqueueEvents([next]);
      return true;
    },
    /** Abrupt stop, as when the process dies: in-flight jobs are left to stall and be taken over (tests). */
    async abort(): Promise<void> {
      for (const t of timers) clearInterval(t);
      direct?.abort();
      await Promise.all([...consumerWorkers, ...workers].map((w) => closeWithConnection(w, true)));
      await relay?.stop();
      if (queue) await closeWithConnection(queue);
      await closeBreakers();
    },
    drain,
    /** Graceful: stop timers, drain (relay and consumers), let in-flight jobs finish, close connections. */
    async stop(): Promise<void> {
      for (const t of timers) clearInterval(t);
      // Graceful within `stopTimeoutMs` (in-flight jobs finish); then forced, e.g. when Redis is already gone.
      const graceful = (async () => {
        await drain();
        // What waits for a direct attempt becomes a job (the queue is still open); attempts under way finish.
        await direct?.stop();
        await Promise.all(workers.map((w) => closeWithConnection(w)));
        if (queue) await closeWithConnection(queue);
      })();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), o.stopTimeoutMs ?? 10_000).unref()),
      ]);
      if (timedOut) {
        o.logger.warn('delivery did not stop gracefully in time; forcing');
        const all = [...consumerWorkers, ...workers];
        await Promise.all(all.map((w) => w.close(true).catch(() => undefined)));
        await queue?.disconnect().catch(() => undefined);
        for (const w of all) dropConnection(w);
        dropConnection(queue);
      }
      await closeBreakers();
    },
  };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
