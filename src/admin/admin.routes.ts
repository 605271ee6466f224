import { Router, type NextFunction, type Request, type Response } from 'express';
import { SharedCircuitBreakers } from '../delivery/shared-breaker';
import type { Queue } from 'bullmq';
import type { Db } from '../store/db.port';
import type { DeliveryService } from '../delivery/delivery-service';
import { deliveryOverview, endpointStats, listDeadLetters, listDeliveries } from './delivery-admin.pg';

export interface AdminRoutesDeps {
  db: Db;
  service: DeliveryService;
  queues: () => Queue[];
  /** FHIR/HL7 HTTP requests this API process refused at capacity since it started (src/http/capacity-guard.ts). */
  refusedAtCapacity?: () => Promise<number>;
}

/**
 * The delivery admin API under `/admin/api` (the admin gate requires admin rights on `/admin`); the console's
 * delivery page (src/admin/pages) reads it.
 */
export function adminRoutes(d: AdminRoutesDeps): Router {
  const r = Router();
  const wrap =
    (fn: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res)
        .then((body) => {
          if (!res.headersSent) res.json(body);
        })
        .catch(next);
    };
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

  r.get(
    '/admin/api/overview',
    wrap(async () => {
      const queues = await Promise.all(
        d.queues().map(async (q) => ({
          queue: q.name,
          ...(await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')),
        })),
      );
      const refused = d.refusedAtCapacity ? { refusedAtCapacity: await d.refusedAtCapacity() } : {};
      return { ...(await deliveryOverview(d.db)), ...refused, queues };
    }),
  );
  r.get(
    '/admin/api/deliveries',
    wrap((req) =>
      listDeliveries(d.db, {
        endpoint: str(req.query.endpoint),
        status: str(req.query.status),
        subscription: str(req.query.subscription),
        before: Number(req.query.before) || undefined,
        count: Number(req.query._count) || undefined,
      }),
    ),
  );
  // The shared breaker state (all worker processes), read from Redis first when this process has no workers.
  const breakerSnapshot = async () => {
    const b = d.service.breakers;
    if (b instanceof SharedCircuitBreakers) await b.refresh().catch(() => undefined);
    return b.snapshot();
  };
  r.get(
    '/admin/api/endpoints',
    wrap(async () => {
      const breakers = new Map((await breakerSnapshot()).map((b) => [b.endpoint, b]));
      const stats = await endpointStats(d.db);
      return stats.map((s) => ({ ...s, breaker: breakers.get(s.endpoint) ?? { state: 'closed' } }));
    }),
  );
  r.get('/admin/api/breakers', wrap(breakerSnapshot));
  r.get(
    '/admin/api/dead-letters',
    wrap((req) => listDeadLetters(d.db, req.query.all !== 'true')),
  );
  r.post(
    '/admin/api/dead-letters/:id/replay',
    wrap(async (req, res) => {
      const ref = await d.service.replayDeadLetter(Number(req.params.id));
      if (!ref) return res.status(404).json({ error: 'no open dead letter with that id' });
      return { replayed: ref };
    }),
  );
  r.post(
    '/admin/api/dead-letters/:id/discard',
    wrap(async (req, res) => {
      if (!(await d.service.discardDeadLetter(Number(req.params.id)))) {
        return res.status(404).json({ error: 'no open dead letter with that id' });
      }
      return { discarded: Number(req.params.id) };
    }),
  );
  return r;
}
