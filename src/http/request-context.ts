import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';
import { withLogContext, type Logger } from '../platform/logger';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (incoming `X-Request-Id` when well-formed, else a new UUID) on the response and, through
 * AsyncLocalStorage, on every log line written while the request runs; one JSON access-log line per request
 * (method, path without the query string, status, ms) and a latency histogram.
 */
export function requestContext(logger: Logger, metrics: Registry): RequestHandler {
  const histogram =
    (metrics.getSingleMetric('http_request_duration_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route prefix and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    });
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && VALID_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    const start = process.hrtime.bigint();
    withLogContext({ requestId }, () => {
      res.once('finish', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        // The path only: query values (identifiers, names) never reach the log.
        const path = req.originalUrl.split('?')[0] ?? '';
        logger.info('http', { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
        histogram.observe({ method: req.method, route: routeLabel(path), status: String(res.statusCode) }, ms / 1000);
      });
      next();
    });
  };
}

/** Low-cardinality label: `/fhir/Encounter/123` → `/fhir/Encounter`. */
function routeLabel(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'fhir') return parts[1] ? `/fhir/${parts[1]}` : '/fhir';
  return `/${parts[0] ?? ''}`;
}
