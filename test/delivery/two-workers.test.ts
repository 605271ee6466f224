import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { uniquePrefix } from '../support/redis';
import { openTestDb } from '../support/db';
import { waitFor } from './helpers';
import {
  createDeliveryService,
  fastOptions,
  subscribe,
  subscriptionFor,
  SYSTEM,
  task,
  testRepos,
  testResources,
  VASTERAS,
} from './fixture';

// Issue 12 item 10: duplicates only from crashes, never from two worker processes working side by side. Two
// delivery services share one PostgreSQL database and one set of queues (as two `worker` processes do) while the
// receiver refuses a share of the notifications: failures, completions and new events of one subscription meet
// on its registry row. A completion that became a deadlock victim failed its job, which sent the notification
// again. No deadlock may happen. (The reconcile grace is cut to 50 ms so the reconcilers and direct-dispatch
// claims run all the time; at that grace an in-flight notification can be re-sent when its claim runs out, the
// documented at-least-once path of a crashed process, so this run counts deadlocks rather than duplicates.)

const run = process.env.DATABASE_URL ? describe : describe.skip;

run('two delivery workers on PostgreSQL', () => {
  const { closeAll, closers, receiver } = testResources();
  afterEach(closeAll);

  // Open defect (issue 12 item 10): 16 deadlocks before migration 044, 0 in most runs after; one showed in the
  // full suite under load. Skipped until its cause is found.
  it.skip('when two workers deliver the same stream side by side, then every event arrives and PostgreSQL breaks no deadlock', async () => {
    const db = await openTestDb('postgres', { max: 20 });
    closers.push(() => db.close());
    const rcv = await receiver();
    const over = {
      prefix: uniquePrefix(),
      concurrency: 16,
      reconcileMs: 30,
      reconcileGraceMs: 50,
      retry: { maxAttempts: 50, backoffMs: 20 },
      breaker: { threshold: 1000, openMs: 50, maxOpenMs: 100 },
    };
    for (let w = 0; w < 2; w++) {
      const service = createDeliveryService(fastOptions(db, over));
      service.start();
      closers.push(() => service.stop());
    }
    await subscribe(db, VASTERAS, subscriptionFor(rcv.url));
    let calls = 0;
    rcv.status = () => (++calls % 3 === 0 ? 503 : 200);
    const repo = testRepos()(db, SYSTEM);
    let expected = 0;
    await Promise.all(
      Array.from({ length: 30 }, async (_, s) => {
        let t: Task = await repo.create(task('vasteras', `stay-${s}`));
        expected++;
        for (const status of ['received', 'accepted', 'in-progress', 'on-hold', 'in-progress', 'completed'] as const) {
          t = await repo.update({ ...t, status });
          expected++;
        }
      }),
    );
    const unique = () => new Set(rcv.events().map((e) => e.headers['x-event-id'])).size;
    await waitFor(() => unique() === expected, 90_000, 'every event');
    // PostgreSQL counts the deadlocks it broke in this database (the statistics are flushed within a second).
    await new Promise((r) => setTimeout(r, 1500));
    const { rows } = await db.query<{ n: number }>(
      'SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    expect(rows[0]?.n).toBe(0);
  }, 150_000);
});
