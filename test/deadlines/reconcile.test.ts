import type { Task } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock';
import { startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOrgs, createTask, HOUR, sleep, startService, systemRepo, waitFor } from './harness';

async function counts(db: ClosableDb, taskIds: string[]) {
  const r = await db.query<{ fired: string | number; pending: string | number }>(
    `SELECT count(*) FILTER (WHERE fired_at IS NOT NULL) AS fired,
            count(*) FILTER (WHERE fired_at IS NULL AND cancelled_at IS NULL) AS pending
       FROM deadline_step WHERE task_id = ANY($1)`,
    [taskIds],
  );
  return { fired: Number(r.rows[0]!.fired), pending: Number(r.rows[0]!.pending) };
}

describe.each(testDatabases())('reconciler and concurrent workers on %s', (kind) => {
  let db: ClosableDb;
  let redis: LocalRedis;
  beforeAll(async () => {
    db = await openTestDb(kind);
    redis = await startLocalRedis(); // private: this test flushes it
  });
  afterAll(async () => {
    await redis.stop();
    await db.close();
  });

  it('when Redis is flushed, then the reconciler restores every timer and nothing fires twice', async () => {
    const clock = new ManualClock('2026-05-04T08:00:00Z');
    const repo = systemRepo(db, clock);
    const orgs = await createOrgs(repo);
    const prefix = uniquePrefix();
    const h = await startService(db, clock, redis.url, prefix);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const t = await createTask(repo, {
        owner: orgs.municipality,
        requester: orgs.hospital,
        authoredOn: clock.now(),
        deadline: new Date(clock.now().getTime() + (24 + i) * HOUR),
      });
      await h.service.syncTask(t.id!);
      ids.push(t.id!);
    }
    expect(await h.service.timers.queue.getDelayedCount()).toBe(40);
    // Half-way: the reminders and overdue notices of the first Tasks fire.
    clock.advance(26 * HOUR);
    const dueNow = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            'SELECT count(*) AS n FROM deadline_step WHERE task_id = ANY($1) AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $2',
            [ids, clock.now().toISOString()],
          )
        ).rows[0]!.n,
      );
    await waitFor(async () => (await dueNow()) === 0, 8000, 'first steps');
    const before = await counts(db, ids);
    // Reminders of Tasks 3–6 and overdue notices of Tasks 0–2 (whose reminders were superseded).
    expect(before.fired).toBe(7);

    const admin = new Redis(redis.url);
    await admin.flushall();
    expect(await h.service.timers.queue.getDelayedCount()).toBe(0);
    const { checked, rearmed } = await h.service.reconcile();
    expect(checked).toBe(before.pending);
    expect(rearmed).toBe(before.pending);
    expect((await h.service.reconcile()).rearmed).toBe(0); // idempotent

    clock.advance(200 * HOUR); // the reminders of Tasks 7–9 are superseded: 40 − 6 steps fire
    await waitFor(async () => (await counts(db, ids)).pending === 0, 10_000, 'all steps');
    expect((await counts(db, ids)).fired).toBe(34);
    // The worker records its result after the step's transaction commits: wait for the records too.
    await waitFor(async () => h.fired.filter((f) => f.result === 'fired').length >= 34, 5_000, 'fired records');
    // Nothing fired twice: exactly one Task update per status change, two deviation Tasks per Task.
    const devs = await repo.search<Task>('Task', { code: 'avvikelse', owner: orgs.municipality, _count: '100' });
    expect(devs.resources.filter((d) => ids.includes(d.focus?.reference?.slice(5) ?? ''))).toHaveLength(10);
    const fired = h.fired.filter((f) => f.result === 'fired').map((f) => `${f.data.taskId}/${f.data.stepId}`);
    expect(new Set(fired).size).toBe(fired.length);
    expect(fired).toHaveLength(34);

    // A second flush after everything fired: the reconciler has nothing to re-arm.
    await admin.flushall();
    expect((await h.service.reconcile()).rearmed).toBe(0);
    admin.disconnect();
    await h.close();
  });

  it('when two worker processes share the queue and the database, then no step fires twice', async () => {
    const clock = new ManualClock('2026-06-01T08:00:00Z');
    const repo = systemRepo(db, clock);
    const orgs = await createOrgs(repo);
    const prefix = uniquePrefix();
    const a = await startService(db, clock, testRedisUrl(), prefix);
    const b = await startService(db, clock, testRedisUrl(), prefix);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const t = await createTask(repo, {
        owner: orgs.municipality,
        requester: orgs.hospital,
        authoredOn: clock.now(),
        deadline: new Date(clock.now().getTime() + 24 * HOUR),
      });
      // Both instances learn of the Task (as if the event were delivered twice) and both re-arm.
      await a.service.syncTask(t.id!);
      await b.service.syncTask(t.id!);
      ids.push(t.id!);
    }
    clock.advance(100 * HOUR);
    // Besides the wake-up jobs, both instances also try every step directly, at the same time.
    const pending = await db.query<{ task_id: string; step_id: string; due_at: Date }>(
      'SELECT task_id, step_id, due_at FROM deadline_step WHERE task_id = ANY($1)',
      [ids],
    );
    const direct = await Promise.all(
      pending.rows.flatMap((s) =>
        [a, b].map((h) =>
          h.service.fire({ taskId: s.task_id, stepId: s.step_id, dueAt: new Date(s.due_at) }).catch(() => 'error'),
        ),
      ),
    );
    await waitFor(async () => (await counts(db, ids)).pending === 0, 10_000, 'all steps');
    await sleep(200);
    const all = [...a.fired, ...b.fired].map((f) => f.result as string).concat(direct);
    const firedCount = (await counts(db, ids)).fired;
    // Reminders are superseded (all steps due at once); overdue, escalation and deviation fire once each.
    expect(firedCount).toBe(24);
    expect(all.filter((r) => r === 'fired')).toHaveLength(24);
    for (const id of ids) {
      // create, then at most one write per fired step (overdue, escalation, deviation in any order)
      const history = await repo.history('Task', id);
      expect(history.length).toBeLessThanOrEqual(4);
      const task = await repo.read<Task>('Task', id);
      expect(task.note).toHaveLength(1);
      expect(task.businessStatus?.coding?.[0]?.code).toBe('escalated');
      const devs = await repo.search<Task>('Task', { code: 'avvikelse', focus: `Task/${id}` });
      expect(devs.resources).toHaveLength(2);
    }
    await a.close();
    await b.close();
  });
});
