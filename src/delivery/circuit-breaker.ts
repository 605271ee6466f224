/**
 * Per-endpoint circuit breaker (in each worker process). After `threshold` consecutive failures the endpoint
 * is open for `openMs` (doubling on each failed probe, capped at `maxOpenMs`): jobs for it are postponed
 * without an HTTP call and without spending an attempt, so a dead municipality does not hold worker slots
 * that other endpoints need. After the open period one probe goes through (half-open).
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerEntry {
  failures: number;
  openUntil: number;
  openMs: number;
  probing: boolean;
}

export interface BreakerOptions {
  threshold?: number;
  openMs?: number;
  maxOpenMs?: number;
  now?: () => number;
}

export class CircuitBreakers {
  protected readonly entries = new Map<string, BreakerEntry>();
  protected readonly threshold: number;
  private readonly openMs: number;
  private readonly maxOpenMs: number;
  protected readonly now: () => number;

  constructor(o: BreakerOptions = {}) {
    this.threshold = o.threshold ?? 5;
    this.openMs = o.openMs ?? 30_000;
    this.maxOpenMs = o.maxOpenMs ?? 5 * 60_000;
    this.now = o.now ?? Date.now;
  }

  protected entry(endpoint: string): BreakerEntry {
    let e = this.entries.get(endpoint);
    if (!e) {
      e = { failures: 0, openUntil: 0, openMs: this.openMs, probing: false };
      this.entries.set(endpoint, e);
    }
    return e;
  }

  /** `undefined` when a call may go now; otherwise the time (ms epoch) to try again. */
  admit(endpoint: string): number | undefined {
    const e = this.entries.get(endpoint);
    if (!e || e.failures < this.threshold) return undefined;
    const t = this.now();
    if (t < e.openUntil) return e.openUntil;
    if (e.probing) return t + Math.min(1000, e.openMs);
    e.probing = true;
    return undefined;
  }

  success(endpoint: string): void {
    const e = this.entry(endpoint);
    e.failures = 0;
    e.openMs = this.openMs;
    e.probing = false;
  }

  /**
   * The admitted call was not made after all (the event was skipped, or something threw before the POST):
   * neither a success nor a failure, but the probe slot must be freed, or the endpoint stays half-open with
   * a probe that never reports and every later job is postponed for ever.
   */
  abandon(endpoint: string): void {
    const e = this.entries.get(endpoint);
    if (e) e.probing = false;
  }

  failure(endpoint: string): void {
    const e = this.entry(endpoint);
    e.failures += 1;
    if (e.probing) e.openMs = Math.min(e.openMs * 2, this.maxOpenMs);
    e.probing = false;
    if (e.failures >= this.threshold) e.openUntil = this.now() + e.openMs;
  }

  state(endpoint: string): BreakerState {
    const e = this.entries.get(endpoint);
    if (!e || e.failures < this.threshold) return 'closed';
    return this.now() < e.openUntil ? 'open' : 'half-open';
  }

  snapshot(): { endpoint: string; state: BreakerState; consecutiveFailures: number; openUntil?: string }[] {
    return [...this.entries].map(([endpoint, e]) => ({
      endpoint,
      state: this.state(endpoint),
      consecutiveFailures: e.failures,
      openUntil: e.failures >= this.threshold ? new Date(e.openUntil).toISOString() : undefined,
    }));
  }
}
