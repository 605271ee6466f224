/**
 * The dashboard and log review for a municipality's own staff, on `/fhir` (any client's bearer token, as the
 * house's other operations): a municipality client sees only its own municipality (its stays' ready days, its
 * Organization's open Tasks and deviations) and, with the `AuditEvent` search right, who accessed its residents'
 * data; an admin client sees the whole region; any other client is refused.
 */
import type { Organization } from '@medplum/fhirtypes';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { hasScope, type AuthContext } from '../../auth/auth-context';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import { sendOutcome } from '../../http/errors';
import type { Agreement } from '../../core/agreements/agreement.schema';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { dashboardData, dashboardStays, type DashboardScope } from './dashboard-data.pg';
import { isMonth } from '../../core/calendar/month';

/** The caller's view and, for a municipality, its name (texts a person reads name it). */
type OwnScope = DashboardScope & { name?: string };

/** The caller's view: the whole region (admin) or one municipality; undefined = refused (answered here). */
async function scopeOf(db: Db, res: Response): Promise<OwnScope | undefined> {
  const auth = res.locals.auth as AuthContext | undefined;
  if (auth?.admin) return {};
  const org = auth?.access.organization;
  if (auth?.access.role !== 'municipality' || !org) {
    sendOutcome(res, 403, 'forbidden', 'the follow-up views are for the region (admin) and municipalities only');
    return undefined;
  }
  const r = await db.query<{ content: string }>(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Organization' AND id = $1 AND NOT deleted`,
    [org.replace(/^Organization\//, '')],
  );
  const found = r.rows[0] ? (JSON.parse(r.rows[0].content) as Organization) : undefined;
  const code = found?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.kommunkod)?.value;
  if (!code) {
    const who = found?.name ? `${found.name} (${org})` : org;
    sendOutcome(res, 403, 'forbidden', `${who} has no kommunkod: its own view cannot be limited to it`);
    return undefined;
  }
  return { municipality: code, owners: [org], ...(found?.name ? { name: found.name } : {}) };
}

export function ownViewRoutes(d: { db: Db; now: () => Date; agreement: () => Agreement }): Router {
  const r = Router();
  r.get('/fhir/$followup-dashboard', (req: Request, res: Response, next: NextFunction) => {
    const to = typeof req.query.to === 'string' && req.query.to ? req.query.to : d.now().toISOString().slice(0, 7);
    if (!isMonth(to)) {
      sendOutcome(res, 400, 'invalid', 'to=YYYY-MM');
      return;
    }
    (async () => {
      const own = await scopeOf(d.db, res);
      if (!own) return;
      // The region may look at one municipality; a municipality always sees only its own.
      const asked =
        typeof req.query.municipality === 'string' && /^\d{4}$/.test(req.query.municipality)
          ? req.query.municipality
          : undefined;
      const scope = own.municipality === undefined && asked ? { municipality: asked } : own;
      const [data, name] = await Promise.all([
        dashboardData(d.db, d.agreement(), to, 12, scope),
        organisationNames(d.db),
      ]);
      res.json({
        view: scope.municipality ?? 'region',
        ...data,
        parties: data.parties.map((p) => ({ ...p, name: name(p.owner) })),
        readyDays: data.readyDays.map((s) => ({ ...s, name: name(s.municipality) })),
      });
    })().catch(next);
  });
  r.get('/fhir/$followup-dashboard-stays', (req: Request, res: Response, next: NextFunction) => {
    const { municipality, month } = req.query;
    if (
      typeof municipality !== 'string' ||
      !/^\d{4}$/.test(municipality) ||
      typeof month !== 'string' ||
      !isMonth(month)
    ) {
      sendOutcome(res, 400, 'invalid', 'municipality=NNNN and month=YYYY-MM are required');
      return;
    }
    (async () => {
      const scope = await scopeOf(d.db, res);
      if (!scope) return;
      if (scope.municipality && scope.municipality !== municipality) {
        sendOutcome(res, 403, 'forbidden', await notYours(d.db, scope, municipality, 'stays'));
        return;
      }
      res.json(await dashboardStays(d.db, d.agreement(), municipality, month));
    })().catch(next);
  });
  return r;
}

/**
 * Why a municipality may not see another municipality's `what` (stays, residents' access), naming both
 * municipalities by name (a kommunkod the directory does not know by SCB's name with the code).
 */
export async function notYours(
  db: Db,
  own: { municipality?: string; name?: string },
  asked: string,
  what: string,
): Promise<string> {
  const name = await organisationNames(db);
  return `${own.name ?? name(own.municipality ?? '')} sees only its own ${what}, not those of ${name(asked)}`;
}

/** Whether the caller may review access logs, and for which municipality (undefined = the whole region). */
export async function logReviewScope(
  db: Db,
  res: Response,
): Promise<{ municipality?: string; name?: string } | undefined> {
  const auth = res.locals.auth as AuthContext | undefined;
  if (auth && !auth.admin && !hasScope(auth.scopes, 'AuditEvent', 's')) {
    sendOutcome(res, 403, 'forbidden', 'log review needs the AuditEvent search right');
    return undefined;
  }
  const scope = await scopeOf(db, res);
  if (!scope) return undefined;
  return scope.municipality ? { municipality: scope.municipality, ...(scope.name ? { name: scope.name } : {}) } : {};
}
