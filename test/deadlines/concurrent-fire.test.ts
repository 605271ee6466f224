import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOrgs, createTask, HOUR, startService, systemRepo } from './harness';

describe.each(testDatabases())('steps of one Task fired at the same time on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => {
    await db.close();
  });

  it('when every step of a Task is fired at once, then each fires (or is superseded) without a version conflict', async () => {
    const clock = new ManualClock('2026-06-01T08:00:00Z');
    const repo = systemRepo(db, clock);
    const orgs = await createOrgs(repo);
    const h = await startService(db, clock, testRedisUrl(), uniquePrefix(), { worker: false });
    for (let round = 0; round < 5; round++) {
      const t = await createTask(repo, {
        owner: orgs.municipality,
        requester: orgs.hospital,
        authoredOn: clock.now(),
        deadline: new Date(clock.now().getTime() + 24 * HOUR),
      });
      await h.service.syncTask(t.id!);
      clock.advance(100 * HOUR);
      const steps = await db.query<{ step_id: string; due_at: Date }>(
        'SELECT step_id, due_at FROM deadline_step WHERE task_id = $1',
        [t.id],
      );
      // Each step fired by its own call at once, as the wake-up jobs of one Task do when they are all due.
      const results = await Promise.all(
        steps.rows.map((s) => h.service.fire({ taskId: t.id!, stepId: s.step_id, dueAt: new Date(s.due_at) })),
      );
      expect(results.filter((r) => r === 'fired')).toHaveLength(3);
      expect(results.filter((r) => r === 'superseded')).toHaveLength(1);
    }
    await h.close();
  });
});
