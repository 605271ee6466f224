import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Agreement } from '../../core/agreements/agreement.schema';
import { sendOutcome } from '../../http/errors';
import type { Clock } from '../../platform/clock';
import type { Db } from '../../store/db.port';
import { deadlineWhatIf } from './deadline-what-if.pg';

/**
 * `GET /admin/api/what-if/deadlines?month=YYYY-MM&alternative=<id>[&agreement=<id>]`: the stays admitted in the
 * month under the region's agreement (or `agreement`) and under `alternative`, deadlines met / missed / open per
 * Task code side by side (admin rights, as every /admin route).
 */
export function whatIfRoutes(d: {
  db: Db;
  agreements: ReadonlyMap<string, Agreement>;
  defaultAgreement: string;
  clock: Clock;
}): Router {
  const r = Router();
  r.get('/admin/api/what-if/deadlines', (req: Request, res: Response, next: NextFunction) => {
    const q = req.query as Record<string, string | undefined>;
    const month = q.month ?? '';
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) return sendOutcome(res, 400, 'invalid', 'month=YYYY-MM is required');
    const base = d.agreements.get(q.agreement ?? d.defaultAgreement);
    const alt = d.agreements.get(q.alternative ?? '');
    const known = [...d.agreements.keys()].sort().join(', ');
    if (!base || !alt) return sendOutcome(res, 400, 'invalid', `agreement and alternative are among: ${known}`);
    deadlineWhatIf(d.db, base, alt, month, d.clock.now())
      .then((x) => res.json(x))
      .catch(next);
  });
  return r;
}
