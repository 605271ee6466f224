import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Agreement } from '../../core/agreements/agreement.schema';
import type { DailyRateTable } from '../../core/liability/payment-model';
import { LiabilityInputError } from '../../core/liability/stay';
import { SVU_TASK_CODE_INFO } from '../../fhir/codes';
import { sendOutcome } from '../../http/errors';
import type { Clock } from '../../platform/clock';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { UnknownAgreementError, whatIfFromStore } from '../liability/store-liability';
import { deadlineWhatIf } from './deadline-what-if.pg';
import { isMonth } from '../../core/calendar/month';

interface WhatIfDeps {
  db: Db;
  agreements: ReadonlyMap<string, Agreement>;
  defaultAgreement: string;
  clock: Clock;
  rates: DailyRateTable;
}

/** The month and the two agreements of a what-if query, or why they are unusable. */
function whatIfQuery(req: Request, d: WhatIfDeps): { month: string; base: Agreement; alt: Agreement } | string {
  const q = req.query as Record<string, string | undefined>;
  const month = q.month ?? '';
  if (!isMonth(month)) return 'month=YYYY-MM is required';
  const base = d.agreements.get(q.agreement || d.defaultAgreement);
  const alt = d.agreements.get(q.alternative ?? '');
  const known = [...d.agreements.keys()].sort().join(', ');
  if (!base || !alt) return `agreement and alternative are among: ${known}`;
  return { month, base, alt };
}

const taskCodeName = (code: string): string =>
  code === '*' ? 'Alla steg' : (SVU_TASK_CODE_INFO[code as keyof typeof SVU_TASK_CODE_INFO]?.display ?? code);

/**
 * Agreement what-if for the region's controller (admin rights, as every /admin route; a municipality's client has
 * no view of it: the comparison spans every municipality):
 * - `GET /admin/api/what-if/agreements`: the loaded agreements (id, name) and the region's own;
 * - `GET /admin/api/what-if/deadlines?month=YYYY-MM&alternative=<id>[&agreement=<id>]`: the stays admitted in the
 *   month under the region's agreement (or `agreement`) and under `alternative`, deadlines met / missed / open per
 *   Task code side by side;
 * - `GET /admin/api/what-if/liability?month=YYYY-MM&alternative=<id>[&agreement=<id>][&daily-amount=N]`: the
 *   month's stored stays billed under both, per municipality (named) with the difference. `daily-amount` is the
 *   amount per day for a year whose national amount is not in the table.
 */
export function whatIfRoutes(d: WhatIfDeps): Router {
  const r = Router();
  r.get('/admin/api/what-if/agreements', (_req, res) => {
    const agreements = [...d.agreements.values()]
      .map((a) => ({ id: a.id, name: a.name }))
      .sort((a, b) => a.id.localeCompare(b.id));
    res.json({ default: d.defaultAgreement, agreements });
  });
  r.get('/admin/api/what-if/deadlines', (req: Request, res: Response, next: NextFunction) => {
    const q = whatIfQuery(req, d);
    if (typeof q === 'string') return sendOutcome(res, 400, 'invalid', q);
    deadlineWhatIf(d.db, q.base, q.alt, q.month, d.clock.now())
      .then((x) => res.json({ ...x, rows: x.rows.map((row) => ({ ...row, name: taskCodeName(row.code) })) }))
      .catch(next);
  });
  r.get('/admin/api/what-if/liability', (req: Request, res: Response, next: NextFunction) => {
    const q = whatIfQuery(req, d);
    if (typeof q === 'string') return sendOutcome(res, 400, 'invalid', q);
    const raw = req.query['daily-amount'];
    const amount = typeof raw === 'string' && raw !== '' ? Number(raw) : undefined;
    if (amount !== undefined && !(Number.isFinite(amount) && amount > 0)) {
      return sendOutcome(res, 400, 'invalid', 'daily-amount must be a positive number');
    }
    (async () => {
      const [x, name] = await Promise.all([
        whatIfFromStore(d, {
          month: q.month,
          agreement: q.base.id,
          alternative: q.alt.id,
          ...(amount !== undefined
            ? {
                agreedRates: {
                  rates: { [q.month.slice(0, 4)]: amount },
                  source: 'given in the request (daily-amount)',
                },
              }
            : {}),
        }),
        organisationNames(d.db),
      ]);
      res.json({ ...x, municipalities: x.municipalities.map((m) => ({ ...m, name: name(m.municipality) })) });
    })().catch((e: unknown) => {
      if (e instanceof UnknownAgreementError) sendOutcome(res, 404, 'not-found', e.message);
      else if (e instanceof LiabilityInputError) sendOutcome(res, 422, 'processing', e.message);
      else next(e);
    });
  });
  return r;
}
