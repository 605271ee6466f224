import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AuthContext } from '../../auth/auth-context';
import { LiabilityInputError } from '../../core/liability/stay';
import { sendOutcome } from '../../http/errors';
import { invoiceCsv } from './invoice-csv';
import {
  liabilityFromStore,
  reportLiability,
  UnknownAgreementError,
  type StoreLiabilityDeps,
  type StoreLiabilityQuery,
} from './store-liability';
import { isMonth } from '../../core/calendar/month';

const KOMMUNKOD = /^\d{4}$/;

/** The query's agreement and month (the region's agreement when none is named), or the reason it is unusable. */
function queryOf(req: Request, defaultAgreement: string): StoreLiabilityQuery | string {
  const q = req.query;
  const agreement = typeof q.agreement === 'string' && q.agreement ? q.agreement : defaultAgreement;
  const month = typeof q.month === 'string' ? q.month : '';
  if (!isMonth(month)) return 'month=YYYY-MM is required';
  const municipality = typeof q.municipality === 'string' && q.municipality ? q.municipality : undefined;
  if (municipality !== undefined && !KOMMUNKOD.test(municipality)) return 'municipality must be a four-digit kommunkod';
  const amount = typeof q['daily-amount'] === 'string' ? Number(q['daily-amount']) : undefined;
  if (amount !== undefined && !(Number.isFinite(amount) && amount > 0)) return 'daily-amount must be a positive number';
  const out: StoreLiabilityQuery = { agreement, month };
  if (municipality) out.municipality = municipality;
  if (amount !== undefined) {
    out.agreedRates = { rates: { [month.slice(0, 4)]: amount }, source: 'given in the request (daily-amount)' };
  }
  return out;
}

/**
 * `GET /admin/api/liability?agreement=&month=[&municipality=][&format=csv]`: the month's payment liability from
 * the stored stays, each stay with its facts, and the corrections against the month's last report.
 * `POST /admin/api/liability/report?agreement=&month=`: records the current basis as reported (invoiced).
 * Under `/admin`, so the shell requires admin rights.
 */
export function liabilityRoutes(deps: StoreLiabilityDeps & { defaultAgreement: string }): Router {
  const r = Router();
  const handle =
    (fn: (q: StoreLiabilityQuery, req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      const q = queryOf(req, deps.defaultAgreement);
      if (typeof q === 'string') {
        sendOutcome(res, 400, 'invalid', q);
        return;
      }
      fn(q, req, res).catch((e: unknown) => {
        if (e instanceof UnknownAgreementError) sendOutcome(res, 404, 'not-found', e.message);
        else if (e instanceof LiabilityInputError) sendOutcome(res, 422, 'processing', e.message);
        else next(e);
      });
    };
  r.get(
    '/admin/api/liability',
    handle(async (q, req, res) => {
      const report = await liabilityFromStore(deps, q);
      if (req.query.format === 'csv') {
        const name = `liability-${q.agreement}-${q.month}${q.municipality ? `-${q.municipality}` : ''}.csv`;
        res.type('text/csv; charset=utf-8').attachment(name).send(invoiceCsv(report));
      } else res.json(report);
    }),
  );
  r.post(
    '/admin/api/liability/report',
    handle(async (q, _req, res) => {
      const by = (res.locals.auth as AuthContext | undefined)?.clientId;
      const { municipality: _m, ...whole } = q;
      res.status(201).json(await reportLiability(deps, whole, by));
    }),
  );
  return r;
}
