import { Router } from 'express';
import type { Db } from '../store/db.port';
import type { AuthContext } from '../auth/auth-context';
import { rememberLang } from './admin-gate';
import { langOf } from './pages/i18n';
import { renderPage, type PageId } from './pages/layout';
import { PAGES, type PageContent } from './pages/console-pages';
import { HL7_PAGE } from './pages/hl7-page';
import { CLIENTS_PAGE } from './pages/clients-page';
import { DEADLINES_PAGE, HOLIDAYS_PAGE } from './pages/deadline-pages';
import { directoryRoutes } from './directory.routes';
import { listSubscriptionsForAdmin } from './subscriptions-admin.pg';
import { resourceBrowserRoutes, type ScopedRepositoryFactory } from './resource-browser.routes';
import { CONSOLE_PAGE } from '../http/page-policy';

const PATHS: Record<PageId, string> = {
  overview: '/admin',
  delivery: '/admin/delivery',
  hl7: '/admin/hl7',
  subscriptions: '/admin/subscriptions',
  clients: '/admin/clients',
  deadlines: '/admin/deadlines',
  holidays: '/admin/holidays',
  resources: '/admin/resources',
  sessions: '/admin/sessions',
};
const CONTENT: Record<PageId, PageContent> = {
  ...PAGES,
  hl7: HL7_PAGE,
  clients: CLIENTS_PAGE,
  deadlines: DEADLINES_PAGE,
  holidays: HOLIDAYS_PAGE,
};

/**
 * The admin console's pages (behind the admin gate, so only a signed-in admin gets them; they hold no data
 * and call the JSON API), the subscriptions list, the read-only resource browser, and the organisations and holiday
 * calendar the clients, deadlines and holidays pages read.
 */
export function consoleRoutes(db: Db, repos: ScopedRepositoryFactory, canonicalBase: string): Router {
  const r = Router();
  for (const [id, path] of Object.entries(PATHS) as [PageId, string][]) {
    const c = CONTENT[id];
    r.get(path === '/admin' ? ['/admin', '/admin/'] : path, (req, res) => {
      rememberLang(req, res);
      const auth = res.locals.auth as AuthContext | undefined;
      res
        .set('Cache-Control', 'no-store')
        .set('Content-Security-Policy', CONSOLE_PAGE)
        .type('html')
        .send(
          renderPage({
            lang: langOf(req),
            active: id,
            clientId: auth?.clientId,
            self: req.originalUrl,
            ...c,
          }),
        );
    });
  }
  r.get('/admin/api/subscriptions', async (_req, res) => {
    res.json(await listSubscriptionsForAdmin(db, canonicalBase));
  });
  r.use(resourceBrowserRoutes(db, repos));
  r.use(directoryRoutes(db, repos));
  return r;
}
