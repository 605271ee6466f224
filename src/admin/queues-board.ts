import type { Queue } from 'bullmq';
import { Router, type RequestHandler, type Response } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES_BOARD } from '../http/page-policy';
import { t } from './pages/i18n';

/**
 * Bull Board at `/admin/queues` (behind the admin gate: a console session or an admin bearer token). Built on first request, so
 * consumers registered after routes were mounted (e.g. `deadline-events`) are listed too.
 */
type BoardOptions = Parameters<typeof createBullBoard>[0];

/** Bull Board's page links its fonts on Google Fonts: a `<link>` to another host, left out (it draws in sans-serif). */
export function withoutExternalStylesheets(html: string): string {
  return html.replace(/<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>\s*/gi, '');
}

/** Sends the board's page (its one `res.render`) without what `withoutExternalStylesheets` leaves out. */
function renderWithoutExternalStylesheets(res: Response, next: (err: unknown) => void): void {
  const render = res.render.bind(res);
  res.render = (view: string, options?: object) =>
    render(view, options ?? {}, (err: Error | null, html: string) =>
      err ? next(err) : res.send(withoutExternalStylesheets(html)),
    );
}

export function queuesBoard(basePath: string, queues: () => Queue[]): Router {
  const r = Router();
  let handler: RequestHandler | undefined;
  r.use(basePath, (req, res, next) => {
    if (!handler) {
      const serverAdapter = new ExpressAdapter();
      serverAdapter.setBasePath(basePath);
      // @bull-board/express pins its own copy of @bull-board/api (9.10.1 vs 9.10.2): same shape, separate
      // declarations, hence the cast.
      createBullBoard({
        queues: queues().map((q) => new BullMQAdapter(q)),
        serverAdapter: serverAdapter as unknown as BoardOptions['serverAdapter'],
        // The way back to the admin console (the session cookie is all Bull Board needs).
        options: {
          uiConfig: {
            boardTitle: t('sv', 'queues.title'),
            miscLinks: [{ text: t('sv', 'queues.back'), url: '/admin' }],
          },
        },
      });
      handler = serverAdapter.getRouter() as RequestHandler;
    }
    res.set('Content-Security-Policy', QUEUES_BOARD);
    renderWithoutExternalStylesheets(res, next);
    handler(req, res, next);
  });
  return r;
}
