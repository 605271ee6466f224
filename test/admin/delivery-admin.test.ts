import { afterEach, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/config';
import { systemClock } from '../../src/platform/clock';
import { createDeliveryCapability } from '../../src/delivery/index';
import type { AuthContext } from '../../src/auth/auth-context';
import { waitFor } from '../delivery/helpers';
import {
  fastOptions,
  quietLogger,
  subscribe,
  subscriptionFor,
  SYSTEM,
  task,
  testRepos,
  testResources,
  VASTERAS,
} from '../delivery/fixture';
import { testRedisUrl, uniquePrefix } from '../support/redis';

describe('delivery admin view', () => {
  const { closers, closeAll, open, receiver: startedReceiver } = testResources();
  afterEach(closeAll);

  it('when deliveries happened, then the admin API lists them by endpoint and status, and metrics count them', async () => {
    const db = await open();
    const metrics = new Registry();
    const config = loadConfig({ NODE_ENV: 'test', QUEUE_PREFIX: uniquePrefix(), PUBLIC_BASE_URL: 'http://gw.test' });
    const cap = createDeliveryCapability(
      { config, db, redisUrl: testRedisUrl(), logger: quietLogger, clock: systemClock, metrics },
      { repos: testRepos(), overrides: { ...fastOptions(db), prefix: config.QUEUE_PREFIX } },
    );
    const app = express();
    app.use((_req, res, next) => {
      const auth: AuthContext = {
        clientId: 'demo-admin',
        scopes: ['system/*.*'],
        access: { role: 'admin' },
        admin: true,
      };
      res.locals.auth = auth;
      next();
    });
    app.use(express.json());
    cap.mountRoutes!(app);
    app.get('/metrics', async (_req, res) => void res.type('text/plain').send(await metrics.metrics()));
    await cap.start!(new Set(['worker']));
    closers.push(() => cap.stop!());
    const receiver = await startedReceiver();

    await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    await testRepos()(db, SYSTEM).create(task('vasteras', 'adm'));
    await waitFor(() => receiver.events().length === 1, 10_000, 'delivery');

    const origin = new URL(receiver.url).origin;
    // the delivery's log row is written once the receiver answered: it may follow the receiver's count by a moment
    const delivered = async () =>
      (
        (
          await request(app)
            .get(`/admin/api/deliveries?endpoint=${encodeURIComponent(origin)}&status=delivered`)
            .expect(200)
        ).body as { kind: string }[]
      )
        .map((r) => r.kind)
        .sort();
    let kinds: string[] = [];
    await waitFor(async () => (kinds = await delivered()).length === 2, 10_000, 'delivery logged');
    expect(kinds).toEqual(['event', 'handshake']);
    const none = await request(app).get('/admin/api/deliveries?status=dead').expect(200);
    expect(none.body).toEqual([]);
    const ov = await request(app).get('/admin/api/overview').expect(200);
    expect(ov.body).toMatchObject({ deadLetters: 0, subscriptions: { active: 1 } });
    expect((ov.body as { queues: { queue: string }[] }).queues.map((q) => q.queue)).toContain('delivery');
    await request(app).post('/admin/api/dead-letters/999/replay').expect(404);
    const eps = await request(app).get('/admin/api/endpoints').expect(200);
    expect(eps.body).toMatchObject([{ endpoint: receiver.url, failures: 0 }]);
    await request(app).get('/admin/queues/').expect(200);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/svu_delivery_attempts_total\{outcome="delivered",endpoint="http:\/\/127\.0\.0\.1:\d+"\} 1/);
    expect(text).toMatch(/svu_delivery_latency_seconds_count\{endpoint="http:\/\/127\.0\.0\.1:\d+"\} 1/);
    expect(text).toMatch(/svu_queue_depth\{queue="delivery",state="waiting"\} 0/);
  });
});
