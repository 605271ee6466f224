import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';

/**
 * Bull Board at `/admin/queues` (behind the admin gate: a console session or an admin bearer token). Built on first request, so
 * consumers registered after routes were mounted (e.g. `deadline-events`) are listed too.
 */
type BoardOptions = Parameters<typeof createBullBoard>[0];

/**
 * Bull Board's page links a stylesheet on fonts.googleapis.com: from a hospital's admin workstation that is a request
 * to a third party naming the board's address (Referer). This policy keeps the page to the gateway's own origin (its
 * scripts and styles are served from there); the board then draws in the browser's sans-serif font.
 */
const BOARD_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'";

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
          uiConfig: { boardTitle: 'svu-gateway queues', miscLinks: [{ text: 'Admin console', url: '/admin' }] },
        },
      });
      handler = serverAdapter.getRouter() as RequestHandler;
    }
    res.set('Content-Security-Policy', BOARD_CSP);
    handler(req, res, next);
  });
  return r;
}
