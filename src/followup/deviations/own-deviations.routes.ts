/**
 * `GET /fhir/$followup-deviations?month=YYYY-MM[&organization=Organization/<id>]`: a party's own deviation list, on
 * `/fhir` (any client's bearer token, as the municipality's own dashboard view). A client bound to an Organization (a
 * municipality, a hospital, a vårdcentral) with the Task search right sees exactly the deviations it holds a copy
 * of, as it sees the copies themselves; an admin sees the whole region, or one party's view with `organization`.
 * The list is the region's (`/admin/api/deviations`, deviation-list.pg.ts), every party named by its name.
 */
import { Router, type Request, type Response } from 'express';
import { isMonth } from '../../core/calendar/month';
import { ORGANIZATION_REFERENCE } from '../../fhir/references';
import { authOf, requireScope } from '../../fhir-api/http-util';
import { GatewayError } from '../../platform/errors';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { deviationList } from './deviation-list.pg';

export function ownDeviationRoutes(d: { db: Db }): Router {
  const r = Router();
  r.get('/fhir/\\$followup-deviations', async (req: Request, res: Response) => {
    const auth = authOf(res);
    const { month, organization: asked } = req.query;
    if (typeof month !== 'string' || !isMonth(month))
      throw new GatewayError('bad-request', 'month=YYYY-MM is required');
    if (asked !== undefined && (typeof asked !== 'string' || !ORGANIZATION_REFERENCE.test(asked)))
      throw new GatewayError('bad-request', 'organization must be Organization/<id>');
    let owner: string | undefined;
    if (auth.admin) owner = asked;
    else {
      // The deviations are `avvikelse` Tasks: the list is for a party that may search its own Tasks.
      requireScope(auth, 'Task', 's');
      owner = auth.access.organization;
      if (!owner)
        throw new GatewayError('forbidden', 'the deviation list is for a party (a client bound to an Organization)');
    }
    // the directory, read once: for the refusal's text, the view and the list
    const name = await organisationNames(d.db);
    if (!auth.admin && owner && asked && asked !== owner)
      throw new GatewayError(
        'forbidden',
        `${name(owner)} sees only the deviations it holds a copy of, not those of ${name(asked)}`,
      );
    const list = await deviationList(d.db, month, owner ? [owner] : undefined, name);
    res.json({ view: owner ? { party: owner, name: name(owner) } : 'region', ...list });
  });
  return r;
}
