import type { RequestHandler } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../platform/logger';
import { sendOutcome } from './errors';

const SHED_TOTAL = 'svu_http_shed_total';

/** Requests the guard on `metrics` has refused since the process started (the admin overview shows it). */
export async function refusedAtCapacity(metrics: Registry): Promise<number> {
  return (await metrics.getSingleMetric(SHED_TOTAL)?.get())?.values[0]?.value ?? 0;
}

export interface CapacityGuardOptions {
  /** Requests in progress on the guarded paths beyond which new ones are refused; 0 = no limit. */
  maxInFlight: number;
  /** Seconds a refused client is told to wait (`Retry-After`). */
  retryAfterSeconds: number;
  logger: Logger;
  metrics: Registry;
}

/**
 * Load shedding for the FHIR and HL7 HTTP endpoints. When more requests are in progress than the gateway can work
 * off in about a second, a new one is answered at once with 503, an OperationOutcome and `Retry-After`, before its
 * body is read or its token checked, instead of queueing until the client's own timeout. Measured with the `api`
 * bench at twice the capacity (400 Bundles/s offered, PostgreSQL): without a limit, 392 of 6 000 ended in connect
 * timeouts and resets, the rest waited p50 4.2 s / p99 19 s, API RSS 331 MB; with 128, every refusal a 503, the
 * accepted waited p50 0.6 s, RSS 298 MB (docs/performance.md, "Load shedding"). Nothing is stored for a refused
 * request, so nothing is lost: the sender retries. Every refusal has its access-log line (status 503) and counts in
 * `svu_http_shed_total`; the first of each overload episode logs a warning with the limit, its end an info line
 * with how many were refused. Health, metrics, token and admin paths are never shed: an admin must see an
 * overloaded gateway. With PGlite the store runs on the event loop, so requests wait unread in the socket backlog
 * and this count does not see them (documented, not solved here).
 */
export function capacityGuard(o: CapacityGuardOptions): RequestHandler {
  // One metric per name in a registry: a second app on the same registry (tests) reuses it.
  const existing = (name: string) => o.metrics.getSingleMetric(name);
  const help = (what: string) => `FHIR/HL7 HTTP requests ${what} (HTTP_MAX_IN_FLIGHT)`;
  const shed =
    (existing(SHED_TOTAL) as Counter | undefined) ??
    new Counter({ name: SHED_TOTAL, help: help('refused with 503 at capacity'), registers: [o.metrics] });
  const gauge =
    (existing('svu_http_in_flight') as Gauge | undefined) ??
    new Gauge({ name: 'svu_http_in_flight', help: help('in progress'), registers: [o.metrics] });
  let inFlight = 0;
  let refusedInEpisode = 0;

  return (_req, res, next) => {
    if (o.maxInFlight > 0 && inFlight >= o.maxInFlight) {
      if (refusedInEpisode === 0) {
        o.logger.warn('http overloaded: refusing requests with 503', {
          inFlight,
          limit: o.maxInFlight,
          setting: 'HTTP_MAX_IN_FLIGHT',
        });
      }
      refusedInEpisode++;
      shed.inc();
      res.setHeader('Retry-After', String(o.retryAfterSeconds));
      sendOutcome(
        res,
        503,
        'transient',
        `The gateway is at capacity (${inFlight} requests in progress): nothing was stored; retry after ` +
          `${o.retryAfterSeconds} s`,
      );
      return;
    }
    inFlight++;
    gauge.inc();
    res.once('close', () => {
      inFlight--;
      gauge.dec();
      if (refusedInEpisode > 0 && inFlight < o.maxInFlight / 2) {
        o.logger.info('http no longer overloaded', { refused: refusedInEpisode, limit: o.maxInFlight });
        refusedInEpisode = 0;
      }
    });
    next();
  };
}
