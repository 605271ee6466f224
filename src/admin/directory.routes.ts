import { Router, type Response } from 'express';
import type { Organization } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { AuthContext } from '../auth/auth-context';
import { GatewayError } from '../platform/errors';
import { swedishHolidays } from '../core/calendar';
import type { ScopedRepositoryFactory } from './resource-browser.routes';

const scopeOf = (res: Response): AuthContext['access'] => (res.locals.auth as AuthContext).access;

/**
 * What the console's pages name things by (admin rights required by the gate):
 * - `GET /admin/api/organisations`: the directory's Organizations as `{ reference, name }`, by name, read through the
 *   store's repository in the caller's scope (the same tenant rules as on /fhir); the clients and deadlines pages
 *   offer them in their choices and name organisations by them;
 * - `GET /admin/api/holidays?year=YYYY`: the holidays of a year the deadlines' holiday report counts with
 *   (src/core/calendar/swedish-holidays.ts: computed, so read-only).
 */
export function directoryRoutes(db: Db, repos: ScopedRepositoryFactory): Router {
  const r = Router();
  r.get('/admin/api/organisations', async (_req, res) => {
    const found = await repos(db, scopeOf(res)).search<Organization>('Organization', { _count: '1000' });
    const list = found.resources
      .map((o) => ({ reference: `Organization/${o.id}`, name: o.name ?? null }))
      .sort((a, b) => (a.name ?? a.reference).localeCompare(b.name ?? b.reference, 'sv'));
    res.json(list);
  });
  r.get('/admin/api/holidays', (req, res) => {
    const year = typeof req.query.year === 'string' ? Number(req.query.year) : NaN;
    if (!Number.isInteger(year) || year < 1900 || year > 2200) {
      throw new GatewayError('bad-request', 'year=YYYY (1900–2200) is required');
    }
    res.json({ year, holidays: swedishHolidays(year) });
  });
  return r;
}
