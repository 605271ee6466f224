/**
 * `GET /fhir/Encounter/<id>/$overview`: the case overview of a stay for the calling party (JSON; HTML when the
 * client prefers text/html), and `GET /admin/cases/<id>`, the same page for integration admins.
 */
import type { Express, Request, Response } from 'express';
import { authOf, requireScope, sendJson } from '../fhir-api/http-util';
import type { Agreement } from '../core/agreements/agreement.schema';
import type { Db } from '../store/db.port';
import type { PgRepository } from '../store/repository.pg';
import { caseOverview } from './case-overview';
import { caseNotFoundPage, overviewPage } from './overview-page';
import { sendPageWithoutScripts } from '../http/page-policy';
import { GatewayError } from '../platform/errors';
import { withConsoleNav } from '../admin/pages/layout';

export function mountCaseOverviewRoutes(
  app: Express,
  db: Db,
  system: (db: Db) => PgRepository,
  agreement: () => Promise<Agreement>,
): void {
  const answer = async (req: Request, res: Response) => {
    const auth = authOf(res);
    requireScope(auth, 'Encounter', 'r');
    const o = await caseOverview(db, system(db), auth.access, String(req.params.id), await agreement());
    if (req.accepts(['application/fhir+json', 'application/json', 'text/html']) === 'text/html')
      sendPageWithoutScripts(res, overviewPage(o));
    else sendJson(res, 200, o);
  };
  app.get('/fhir/Encounter/:id/$overview', answer);
  app.get('/admin/cases/:id', async (req, res) => {
    const auth = authOf(res);
    const id = String(req.params.id);
    // In the console the page carries the console's navigation (links only: the page runs no script).
    const inConsole = (html: string) => withConsoleNav(html, 'case', '0 0 1.5rem');
    try {
      const o = await caseOverview(db, system(db), auth.access, id, await agreement());
      sendPageWithoutScripts(res, inConsole(overviewPage(o)));
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'not-found') throw err;
      // A page for the admin's browser, not the API's OperationOutcome.
      sendPageWithoutScripts(res, inConsole(caseNotFoundPage(id)), 404);
    }
  });
}
