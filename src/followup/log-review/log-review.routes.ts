import type { AuditEvent } from '@medplum/fhirtypes';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AuthContext } from '../../auth/auth-context';
import { sendOutcome } from '../../http/errors';
import type { Clock } from '../../platform/clock';
import type { Db } from '../../store/db.port';
import { createRepository } from '../../store/repository.pg';
import { logReviewScope, notYours } from '../dashboard/own-view.routes';
import { reviewAccess, type AccessRow, type LogReviewQuery } from './log-review.pg';

const COLS: (keyof AccessRow)[] = [
  'recorded',
  'organisation',
  'accessor',
  'tenant',
  'patient',
  'action',
  'interaction',
  'what',
  'outcome',
  'requestId',
];
const cell = (v: string | undefined): string => {
  const s = v ?? '';
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function queryOf(req: Request): LogReviewQuery | string {
  const s = (k: string): string | undefined => {
    const v = req.query[k];
    return typeof v === 'string' && v ? v : undefined;
  };
  const q: LogReviewQuery = { limit: Math.min(10_000, Number(s('limit') ?? '1000') || 1000) };
  const patient = s('patient');
  if (patient && !/^Patient\/[A-Za-z0-9.-]{1,64}$/.test(patient)) return 'patient must be Patient/<id>';
  const municipality = s('municipality');
  if (municipality && !/^\d{4}$/.test(municipality)) return 'municipality must be a four-digit kommunkod';
  for (const k of ['from', 'to'] as const) {
    const v = s(k);
    if (v && Number.isNaN(Date.parse(v))) return `${k} must be a date or date-time`;
    if (v) q[k] = v;
  }
  if (patient) q.patient = patient;
  if (municipality) q.municipality = municipality;
  const accessor = s('accessor');
  if (accessor) q.accessor = accessor;
  return q;
}

/** The review itself is audited: who reviewed, with which filters (ids and dates only). */
function reviewEvent(auth: AuthContext | undefined, q: LogReviewQuery, now: Date, rows: number): AuditEvent {
  const filters = Object.entries(q)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('&');
  return {
    resourceType: 'AuditEvent',
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' }],
    action: 'E',
    recorded: now.toISOString(),
    outcome: '0',
    outcomeDesc: `log review: ${rows} access rows`,
    agent: [{ who: { display: auth?.clientId ?? 'unknown' }, requestor: true }],
    source: { observer: { display: 'svu-gateway log review' } },
    entity: [{ what: { display: 'AuditEvent' }, description: `log-review?${filters}`.slice(0, 1000) }],
  };
}

/**
 * `GET /admin/api/log-review?[patient=Patient/<id>][&accessor=<client id>][&from=][&to=][&municipality=NNNN]
 * [&format=csv]`: who accessed which patients and when. Under `/admin` (admin rights); each review is audited.
 * `GET /fhir/$log-review?…` is the same for a municipality's log reviewer, limited to its residents.
 */
export function logReviewRoutes(d: { db: Db; clock: Clock }): Router {
  const r = Router();
  const answer = async (req: Request, res: Response, q: LogReviewQuery): Promise<void> => {
    const rows = await reviewAccess(d.db, q);
    const event = reviewEvent(res.locals.auth as AuthContext | undefined, q, d.clock.now(), rows.length);
    await createRepository(d.db, { system: true }).create(event, { silent: true });
    if (req.query.format === 'csv') {
      const text = [COLS.join(';'), ...rows.map((x) => COLS.map((c) => cell(x[c])).join(';'))].join('\r\n');
      res.type('text/csv; charset=utf-8').attachment('log-review.csv').send(`${text}\r\n`);
    } else res.json(rows);
  };
  r.get('/admin/api/log-review', (req: Request, res: Response, next: NextFunction) => {
    const q = queryOf(req);
    if (typeof q === 'string') sendOutcome(res, 400, 'invalid', q);
    else answer(req, res, q).catch(next);
  });
  // A municipality's log reviewer (the AuditEvent search right): its residents only, whatever it asks for.
  r.get('/fhir/$log-review', (req: Request, res: Response, next: NextFunction) => {
    const q = queryOf(req);
    if (typeof q === 'string') {
      sendOutcome(res, 400, 'invalid', q);
      return;
    }
    (async () => {
      const scope = await logReviewScope(d.db, res);
      if (!scope) return;
      if (scope.municipality && q.municipality && q.municipality !== scope.municipality) {
        sendOutcome(res, 403, 'forbidden', await notYours(d.db, scope, q.municipality, "residents' access"));
        return;
      }
      await answer(req, res, scope.municipality ? { ...q, municipality: scope.municipality } : q);
    })().catch(next);
  });
  return r;
}
