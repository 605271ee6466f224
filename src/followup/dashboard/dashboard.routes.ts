import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { withConsoleNav } from '../../admin/pages/layout';
import { sendOutcome } from '../../http/errors';
import type { Agreement } from '../../core/agreements/agreement.schema';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { dashboardData, dashboardStays } from './dashboard-data.pg';
import { DASHBOARD_PAGE } from './dashboard-page';
import { isMonth } from '../../core/calendar/month';
import { DASHBOARD_PAGE_POLICY } from '../../http/page-policy';

const KOMMUNKOD = /^\d{4}$/;

/** uPlot's browser build and stylesheet, vendored from node_modules (no CDN), read once. */
function uplotAssets(): { js: string; css: string } {
  const dist = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  return {
    js: readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(path.join(dist, 'uPlot.min.css'), 'utf8'),
  };
}

/**
 * `/admin/dashboard` (the page), `/admin/assets/uplot.*`, `GET /admin/api/dashboard?to=YYYY-MM[&months=12]
 * [&municipality=NNNN]` and `GET /admin/api/dashboard/stays?municipality=&month=` (the drill-down). The API is under
 * `/admin`, so the shell requires admin rights: this is the controller's view.
 */
export function dashboardRoutes(d: { db: Db; now: () => Date; agreement: () => Agreement }): Router {
  const r = Router();
  const assets = uplotAssets();
  // The page holds no data: behind the console's login at /admin, and open at /followup for municipal staff, whose
  // data calls carry their own client's token.
  for (const base of ['/admin', '/followup']) {
    r.get(`${base}/dashboard`, (_req, res) => {
      // In the console the page carries the console's navigation; for municipal staff (/followup) it stands alone.
      const page = base === '/admin' ? withConsoleNav(DASHBOARD_PAGE, 'dashboard') : DASHBOARD_PAGE;
      res.set('Content-Security-Policy', DASHBOARD_PAGE_POLICY).type('html').send(page);
    });
    r.get(`${base}/assets/uplot.iife.min.js`, (_req, res) => {
      res.type('application/javascript').set('cache-control', 'public, max-age=86400').send(assets.js);
    });
    r.get(`${base}/assets/uplot.min.css`, (_req, res) => {
      res.type('text/css').set('cache-control', 'public, max-age=86400').send(assets.css);
    });
  }
  r.get('/admin/api/dashboard', (req: Request, res: Response, next: NextFunction) => {
    const to = typeof req.query.to === 'string' && req.query.to ? req.query.to : d.now().toISOString().slice(0, 7);
    const months = Number(typeof req.query.months === 'string' ? req.query.months : '12');
    const municipality =
      typeof req.query.municipality === 'string' && req.query.municipality ? req.query.municipality : undefined;
    if (!isMonth(to) || !Number.isInteger(months) || months < 1 || months > 36) {
      sendOutcome(res, 400, 'invalid', 'to=YYYY-MM and months=1..36');
      return;
    }
    if (municipality !== undefined && !KOMMUNKOD.test(municipality)) {
      sendOutcome(res, 400, 'invalid', 'municipality must be a four-digit kommunkod');
      return;
    }
    (async () => {
      const [data, name] = await Promise.all([
        dashboardData(d.db, d.agreement(), to, months, municipality ? { municipality } : {}),
        organisationNames(d.db),
      ]);
      res.json({
        ...data,
        parties: data.parties.map((p) => ({ ...p, name: name(p.owner) })),
        readyDays: data.readyDays.map((s) => ({ ...s, name: name(s.municipality) })),
      });
    })().catch(next);
  });
  r.get('/admin/api/dashboard/stays', (req: Request, res: Response, next: NextFunction) => {
    const { municipality, month } = req.query;
    if (
      typeof municipality !== 'string' ||
      !KOMMUNKOD.test(municipality) ||
      typeof month !== 'string' ||
      !isMonth(month)
    ) {
      sendOutcome(res, 400, 'invalid', 'municipality=NNNN and month=YYYY-MM are required');
      return;
    }
    dashboardStays(d.db, d.agreement(), municipality, month)
      .then((stays) => res.json(stays))
      .catch(next);
  });
  return r;
}
