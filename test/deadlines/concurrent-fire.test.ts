import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import type { Task } from '@medplum/fhirtypes';
import { DeadlineService } from '../../src/deadlines/deadline-service';
import { agreements, createOrgs, createTask, HOUR, logger, startService, systemRepo } from './harness';

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

  // PGlite has one connection: a write from outside the step's transaction cannot happen while it runs
  it.skipIf(kind === 'pglite')(
    'when the owner answers the Task while its overdue notice is being written, then the notice is written on top of the answer',
    async () => {
      const clock = new ManualClock('2026-06-01T08:00:00Z');
      const repo = systemRepo(db, clock);
      const orgs = await createOrgs(repo);
      let answered = false;
      const service = new DeadlineService({
        db,
        redisUrl: testRedisUrl(),
        prefix: uniquePrefix(),
        clock,
        logger,
        agreements: await agreements(),
        defaultAgreement: 'vastmanland',
        // the step's first Task write finds the owner's answer committed from another connection just before it
        repo: (d) => {
          const r = systemRepo(d, clock);
          return Object.assign(Object.create(r) as typeof r, {
            async update<T extends Task>(next: T, opts?: Parameters<typeof r.update>[1]) {
              if (!answered && next.resourceType === 'Task') {
                answered = true;
                const now = await repo.read<Task>('Task', next.id!);
                await repo.update<Task>({ ...now, status: 'received', note: [{ text: 'Mottaget av kommunen' }] });
              }
              return r.update(next, opts);
            },
          });
        },
      });
      const t = await createTask(repo, {
        owner: orgs.municipality,
        requester: orgs.hospital,
        authoredOn: clock.now(),
        deadline: new Date(clock.now().getTime() + 24 * HOUR),
      });
      await service.syncTask(t.id!);
      clock.advance(25 * HOUR);
      const overdue = await db.query<{ step_id: string; due_at: Date }>(
        "SELECT step_id, due_at FROM deadline_step WHERE task_id = $1 AND kind = 'overdue'",
        [t.id],
      );
      const step = overdue.rows[0]!;
      expect(await service.fire({ taskId: t.id!, stepId: step.step_id, dueAt: new Date(step.due_at) })).toBe('fired');
      expect(answered).toBe(true);
      const stored = await repo.read<Task>('Task', t.id!);
      expect(stored.status).toBe('received');
      expect(stored.note?.map((n) => n.text)).toEqual(['Mottaget av kommunen']);
      expect(stored.meta?.versionId).toBe('3'); // created, answered, marked overdue
      expect(stored.businessStatus?.coding?.[0]?.code).toBe('overdue');
      await service.close();
    },
  );
});
