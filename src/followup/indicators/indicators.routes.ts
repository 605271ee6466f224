import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Agreement } from '../../core/agreements/agreement.schema';
import { sendOutcome } from '../../http/errors';
import type { Clock } from '../../platform/clock';
import type { Db } from '../../store/db.port';
import { indicatorsOfMonth } from './indicator-months.pg';
import { indicatorsCsv, measureReports, measures } from './measures';
import { organisationNames } from '../../store/organisation-names.pg';
import { isMonth } from '../../core/calendar/month';

export interface IndicatorRoutesDeps {
  db: Db;
  agreement: () => Agreement;
  clock: Clock;
}

/** The month's indicator values, computed from the store. */
export async function indicatorsOf(d: IndicatorRoutesDeps, month: string) {
  return indicatorsOfMonth(d.db, d.agreement(), month, d.clock.now().toISOString());
}

/**
 * `GET /admin/api/indicators?month=YYYY-MM[&format=csv]`: a FHIR Bundle (collection) of one summary MeasureReport
 * per indicator, or CSV; `GET /admin/api/indicators/measures`: the Measure definitions. Admin rights (the shell).
 */
export function indicatorRoutes(d: IndicatorRoutesDeps): Router {
  const r = Router();
  r.get('/admin/api/indicators/measures', (_req, res) => {
    res.type('application/fhir+json').send(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: measures().map((resource) => ({ resource })),
      }),
    );
  });
  r.get('/admin/api/indicators', (req: Request, res: Response, next: NextFunction) => {
    const month = typeof req.query.month === 'string' ? req.query.month : '';
    if (!isMonth(month)) {
      sendOutcome(res, 400, 'invalid', 'month=YYYY-MM is required');
      return;
    }
    (async () => {
      const [values, name] = await Promise.all([indicatorsOf(d, month), organisationNames(d.db)]);
      if (req.query.format === 'csv') {
        res.type('text/csv; charset=utf-8').attachment(`indicators-${month}.csv`).send(indicatorsCsv(values, name));
        return;
      }
      const bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: measureReports(month, values, name).map((resource) => ({ resource })),
      };
      res.type('application/fhir+json').send(JSON.stringify(bundle));
    })().catch(next);
  });
  return r;
}
