import type { Express } from 'express';
import type { Queue } from 'bullmq';
import type { AppContext, Capability, Role } from '../compose.types';
import { createRepository } from '../store/repository.pg';
import type { RepositoryHooks } from '../store/repository.port';
import { deliveryMetrics } from '../platform/metrics';
import { createQueue } from '../platform/queues';
import { adminRoutes } from '../admin/admin.routes';
import { refusedAtCapacity } from '../http/capacity-guard';
import { queuesBoard } from '../admin/queues-board';
import { deliveryOverview } from '../admin/delivery-admin.pg';
import { createSubscriptionHooks } from '../subscriptions/subscription-access';
import { subscriptionRoutes } from '../subscriptions/subscription.routes';
import { createDeliveryService, type ConsumerOptions, type DeliveryServiceOptions } from './delivery-service';
import { closeWithConnection } from '../platform/close-bullmq';
import type { OutboxProcessor } from './outbox.types';
import type { RepositoryFactory } from './resource-access';

export type { OutboxEvent, OutboxProcessor } from './outbox.types';
export { verifySignature, sign } from './signature';

export interface DeliveryCapability extends Capability {
  /**
   * Adds an outbox consumer (e.g. the deadlines capability's `deadline-events`): the relay feeds it its own
   * BullMQ queue named `name`; `processor(event, tx)` runs once per outbox row inside a transaction with the
   * consumer's processed marker (may return a function run after commit). Call before `start()`.
   */
  registerOutboxConsumer(name: string, processor: OutboxProcessor, opts?: ConsumerOptions): void;
  /** Wire into the repository the FHIR API uses: validates Subscriptions, records the subscriber. */
  repositoryHooks: RepositoryHooks;
  /** Wake the outbox relay now (after a commit); polling catches everything anyway. */
  nudge(): void;
  service: ReturnType<typeof createDeliveryService>;
}

export interface DeliveryCapabilityOptions {
  repos?: RepositoryFactory;
  /** Overrides of the service settings (tests: short backoff, fast breaker). */
  overrides?: Partial<DeliveryServiceOptions>;
  /** Other capabilities' BullMQ queues to show in Bull Board and count in `svu_queue_depth` (deadline timers). */
  extraQueues?: readonly string[];
}

/** Outbox relay, subscriptions (rest-hook, backport topics, $status/$events), signed delivery, admin view. */
export function createDeliveryCapability(ctx: AppContext, opts: DeliveryCapabilityOptions = {}): DeliveryCapability {
  const cfg = ctx.config;
  const fhirBase = `${(cfg.PUBLIC_BASE_URL ?? `http://localhost:${cfg.PORT}`).replace(/\/$/, '')}/fhir`;
  const repos: RepositoryFactory = opts.repos ?? ((db, scope) => createRepository(db, scope));
  const metrics = deliveryMetrics(ctx.metrics);
  const service = createDeliveryService({
    db: ctx.db,
    redisUrl: ctx.redisUrl,
    prefix: cfg.QUEUE_PREFIX,
    repos,
    logger: ctx.logger.child({ capability: 'delivery' }),
    clock: ctx.clock,
    metrics,
    canonicalBase: cfg.FHIR_CANONICAL_BASE,
    fhirBase,
    timeoutMs: cfg.DELIVERY_TIMEOUT_MS,
    retry: { maxAttempts: cfg.DELIVERY_MAX_ATTEMPTS, backoffMs: cfg.DELIVERY_BACKOFF_MS },
    concurrency: cfg.WORKER_CONCURRENCY,
    // Delivery jobs mostly wait (HTTP, batched statements); more in flight make bigger batches (docs/delivery.md).
    deliveryConcurrency: Math.max(cfg.WORKER_CONCURRENCY, 64),
    ...opts.overrides,
  });
  // Queues for the admin view and metrics, in every role (the API process has no workers); all but the first are
  // this capability's own connections.
  let viewQueues: Queue[] | undefined;
  const queues = (): Queue[] =>
    (viewQueues ??= [
      service.deliveryQueue() as Queue,
      ...service
        .consumerNames()
        .map((n) => createQueue<unknown>(n, { redisUrl: ctx.redisUrl, prefix: cfg.QUEUE_PREFIX }) as Queue),
      ...(opts.extraQueues ?? []).map(
        (n) => createQueue<unknown>(n, { redisUrl: ctx.redisUrl, prefix: cfg.QUEUE_PREFIX }) as Queue,
      ),
    ]);

  metrics.setCollector(async () => {
    const ov = await deliveryOverview(ctx.db);
    metrics.outboxPending.set(ov.outboxPending);
    metrics.outboxLag.set(ov.outboxLagSeconds);
    metrics.deadLetters.set(ov.deadLetters);
    metrics.oldestPending.set(ov.oldestPendingSeconds);
    for (const q of queues()) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: q.name, state }, n);
    }
  });

  return {
    name: 'delivery',
    service,
    repositoryHooks: createSubscriptionHooks(cfg.FHIR_CANONICAL_BASE),
    registerOutboxConsumer: (name, processor, o) => service.registerOutboxConsumer(name, processor, o),
    nudge: () => service.nudge(),
    mountRoutes(app: Express) {
      app.use(subscriptionRoutes({ db: ctx.db, repos, canonicalBase: cfg.FHIR_CANONICAL_BASE, fhirBase }));
      app.use(adminRoutes({ db: ctx.db, service, queues, refusedAtCapacity: () => refusedAtCapacity(ctx.metrics) }));
      app.use(queuesBoard('/admin/queues', queues));
    },
    async start(roles: ReadonlySet<Role>) {
      if (roles.has('worker')) service.start();
    },
    drain: () => service.drain(),
    async stop() {
      await service.stop();
      await Promise.all((viewQueues ?? []).slice(1).map((q) => closeWithConnection(q)));
    },
  };
}
