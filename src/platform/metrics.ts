import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Bounded label for an endpoint URL: its origin (scheme, host, port), never the path or query. */
export function endpointLabel(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}

export interface DeliveryMetrics {
  attempts: Counter<'outcome' | 'endpoint'>;
  latency: Histogram<'endpoint'>;
  queueDepth: Gauge<'queue' | 'state'>;
  outboxPending: Gauge;
  outboxLag: Gauge;
  deadLetters: Gauge;
  oldestPending: Gauge;
  /** Called on each scrape to refresh the gauges (set by the delivery capability). */
  setCollector(fn: () => Promise<void>): void;
}

const byRegistry = new WeakMap<Registry, DeliveryMetrics>();

/** The delivery metrics on `registry` (created once per registry, so several capabilities may ask). */
export function deliveryMetrics(registry: Registry): DeliveryMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  let collector: (() => Promise<void>) | undefined;
  let collecting: Promise<void> | undefined;
  const collect = async (): Promise<void> => {
    if (!collector) return;
    collecting ??= collector()
      .catch(() => undefined)
      .finally(() => {
        collecting = undefined;
      });
    await collecting;
  };
  const m: DeliveryMetrics = {
    attempts: new Counter({
      name: 'svu_delivery_attempts_total',
      help: 'Notification delivery attempts by outcome (delivered, retry, dead, skipped) and endpoint origin',
      labelNames: ['outcome', 'endpoint'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'svu_delivery_latency_seconds',
      help: 'Time from the commit of a change to the 2xx of its notification',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'svu_queue_depth',
      help: 'BullMQ jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [registry],
      collect,
    }),
    outboxPending: new Gauge({
      name: 'svu_outbox_pending',
      help: 'Outbox rows not yet relayed to BullMQ',
      registers: [registry],
    }),
    outboxLag: new Gauge({
      name: 'svu_outbox_lag_seconds',
      help: 'Age of the oldest outbox row not yet relayed',
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: 'svu_dead_letters',
      help: 'Notifications in the dead-letter queue (neither replayed nor discarded)',
      registers: [registry],
    }),
    oldestPending: new Gauge({
      name: 'svu_delivery_oldest_pending_seconds',
      help: 'Age of the oldest notification not yet delivered',
      registers: [registry],
    }),
    setCollector(fn) {
      collector = fn;
    },
  };
  byRegistry.set(registry, m);
  return m;
}
