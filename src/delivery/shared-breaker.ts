import type { Redis } from 'ioredis';
import { CircuitBreakers, type BreakerOptions } from './circuit-breaker';

export interface SharedBreakerOptions extends BreakerOptions {
  /** Opens the Redis connection (on first use; `close()` ends it). */
  connect: () => Redis;
  /** Key prefix (the queue prefix): `<prefix>:breaker:failures` and `<prefix>:breaker:open`. */
  prefix: string;
  /** How often the shared state is read back (default 500 ms). */
  refreshMs?: number;
}

/**
 * Circuit breakers shared by all worker processes through Redis, without a Redis call on the healthy path:
 * each process keeps its local breaker (admit stays synchronous) and publishes failures (`HINCRBY`), the
 * opening of an endpoint (`HSET` open-until and pause) and a success after failures (`HDEL`); every
 * `refreshMs` it reads the shared state back. So consecutive failures count across processes, an endpoint
 * opened by one process is paused in all of them, and a success anywhere closes it everywhere. The probe is
 * one per process. When Redis is unreachable each process falls back to its own view.
 */
export class SharedCircuitBreakers extends CircuitBreakers {
  private readonly connect: () => Redis;
  private conn: Redis | undefined;
  private readonly failuresKey: string;
  private readonly openKey: string;
  private readonly refreshMs: number;
  /** Endpoints the shared state had failures for at the last refresh (a success must clear them there). */
  private remote = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(o: SharedBreakerOptions) {
    super(o);
    this.connect = o.connect;
    this.failuresKey = `${o.prefix}:breaker:failures`;
    this.openKey = `${o.prefix}:breaker:open`;
    this.refreshMs = o.refreshMs ?? 500;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.refreshMs);
    this.timer.unref();
  }

  private get redis(): Redis {
    return (this.conn ??= this.connect());
  }

  /** Stops the refresh and closes the connection. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const c = this.conn;
    this.conn = undefined;
    await c?.quit().catch(() => c.disconnect());
  }

  override success(endpoint: string): void {
    const had = (this.entries.get(endpoint)?.failures ?? 0) > 0 || this.remote.has(endpoint);
    super.success(endpoint);
    if (!had) return;
    this.remote.delete(endpoint);
    this.redis
      .multi()
      .hdel(this.failuresKey, endpoint)
      .hdel(this.openKey, endpoint)
      .exec()
      .catch(() => undefined);
  }

  override failure(endpoint: string): void {
    super.failure(endpoint);
    const e = this.entry(endpoint);
    const m = this.redis.multi().hincrby(this.failuresKey, endpoint, 1);
    if (e.failures >= this.threshold) m.hset(this.openKey, endpoint, `${e.openUntil}|${e.openMs}`);
    m.exec().catch(() => undefined);
  }

  /** Reads the shared state into the local breakers (also for a process that only serves the admin view). */
  async refresh(): Promise<void> {
    const [failures, open] = await Promise.all([
      this.redis.hgetall(this.failuresKey),
      this.redis.hgetall(this.openKey),
    ]);
    this.remote = new Set(Object.keys(failures));
    for (const [endpoint, e] of this.entries) {
      // A success elsewhere cleared the endpoint: it is healthy again here too (a probe in flight still reports).
      if (!(endpoint in failures) && e.failures > 0 && !e.probing) {
        e.failures = 0;
        e.openUntil = 0;
      }
    }
    for (const [endpoint, n] of Object.entries(failures)) {
      const e = this.entry(endpoint);
      e.failures = Math.max(e.failures, Number(n) || 0);
      const [until, ms] = (open[endpoint] ?? '').split('|').map(Number);
      if (until && until > e.openUntil) e.openUntil = until;
      if (ms && ms > e.openMs) e.openMs = ms;
    }
  }
}
