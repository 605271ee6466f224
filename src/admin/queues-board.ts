import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES_BOARD } from '../http/page-policy';

/**
 * Bull Board at `/admin/queues` (behind the admin gate: a console session or an admin bearer token). Built on first request, so
 * consumers registered after routes were mounted (e.g. `deadline-events`) are listed too.
 */
type BoardOptions = Parameters<typeof createBullBoard>[0];

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
    res.set('Content-Security-Policy', QUEUES_BOARD);
    handler(req, res, next);
  });
  return r;
}
