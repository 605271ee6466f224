import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { createOutboxRelay, type OutboxRelay } from '../../src/delivery/outbox-relay';
import { startOutboxConsumer } from '../../src/delivery/outbox-consumer';
import { DEADLINE_EVENTS_CONSUMER } from '../../src/deadlines/deadline-service';
import { systemClock } from '../../src/platform/clock';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { agreements, createOrgs, createTask, startService, systemRepo, waitFor, type Harness } from './harness';

/** The fast-demo agreement with its ladder offsets divided by ten (the suite must stay fast). */
async function fastDemoTenfold(): Promise<Map<string, Agreement>> {
  const all = new Map(await agreements());
  const demo = all.get('fast-demo')!;
  const scale = (iso: string) => {
    const m = /^(-?)PT(\d+)S$/.exec(iso)!;
    return `${m[1]}PT${Number(m[2]) / 10}S`;
  };
  all.set('fast-demo-x10', {
    ...demo,
    id: 'fast-demo-x10',
    escalation: {
      ...demo.escalation,
      steps: demo.escalation.steps.map((s) => ({ ...s, at: { ...s.at, offset: scale(s.at.offset) } })),
    },
  });
  return all;
}

describe('real-time ladder (system clock, outbox relay, BullMQ)', () => {
  let db: ClosableDb;
  let h: Harness;
  let relay: OutboxRelay;
  let consumer: Awaited<ReturnType<typeof startOutboxConsumer>>;

  beforeAll(async () => {
    db = await openTestDb('pglite');
    const prefix = uniquePrefix();
    h = await startService(db, systemClock, testRedisUrl(), prefix, {
      agreement: 'fast-demo-x10',
      agreements: await fastDemoTenfold(),
    });
    relay = createOutboxRelay({
      db,
      redisUrl: testRedisUrl(),
      prefix,
      consumers: [DEADLINE_EVENTS_CONSUMER],
      pollMs: 20,
    });
    relay.start();
    consumer = startOutboxConsumer(DEADLINE_EVENTS_CONSUMER, h.service.outboxProcessor, {
      db,
      redisUrl: testRedisUrl(),
      prefix,
    });
  });
  afterAll(async () => {
    await consumer.close();
    await relay.stop();
    await h.close();
    await db.close();
  });

  it('when a Task with a seconds-long deadline is created, then its whole ladder runs in real time within a second of each step', async () => {
    const repo = systemRepo(db, systemClock);
    const orgs = await createOrgs(repo);
    const now = Date.now();
    // Deadline 1.5 s ahead: reminder at +1.0 s, overdue at +1.5 s, escalation at +2.5 s, deviation at +3.5 s.
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: new Date(now),
      deadline: new Date(now + 1500),
    });
    // Only the outbox tells the deadline worker about the Task.
    const rows = await waitFor(
      async () => {
        const r = await db.query<{ step_id: string; due_at: Date; fired_at: Date | null; recorded_at: Date | null }>(
          'SELECT step_id, due_at, fired_at, recorded_at FROM deadline_step WHERE task_id = $1 ORDER BY seq',
          [t.id],
        );
        return r.rows.length === 4 && r.rows.every((x) => x.fired_at) ? r.rows : undefined;
      },
      8000,
      'the whole ladder',
    );
    const lags = rows.map((r) => new Date(r.recorded_at!).getTime() - new Date(r.due_at).getTime());
    expect(rows.map((r) => r.step_id)).toEqual(['reminder', 'overdue', 'escalation', 'deviation']);
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(0); // never early
      expect(lag).toBeLessThan(1000); // p99 target
    }
    const task = await repo.read<Task>('Task', t.id!);
    expect(task.businessStatus?.coding?.[0]?.code).toBe('escalated');
    const devs = await repo.search<Task>('Task', { code: 'avvikelse', focus: `Task/${t.id}` });
    expect(devs.resources).toHaveLength(2);
  });

  it('when the Task is completed through the API before its deadline, then the outbox stops the ladder', async () => {
    const repo = systemRepo(db, systemClock);
    const orgs = await createOrgs(repo);
    const now = Date.now();
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: new Date(now),
      deadline: new Date(now + 2000),
    });
    await waitFor(
      async () => (await db.query('SELECT 1 FROM deadline_step WHERE task_id = $1', [t.id])).rows.length === 4,
    );
    await repo.update<Task>({ ...(await repo.read<Task>('Task', t.id!)), status: 'completed' });
    await waitFor(
      async () =>
        (await db.query('SELECT 1 FROM deadline_step WHERE task_id = $1 AND cancelled_at IS NOT NULL', [t.id])).rows
          .length >= 3,
      5000,
      'cancelled steps',
    );
    await new Promise((r) => setTimeout(r, Math.max(0, now + 4500 - Date.now()))); // past the deviation time
    const fired = await db.query('SELECT step_id FROM deadline_step WHERE task_id = $1 AND fired_at IS NOT NULL', [
      t.id,
    ]);
    expect(fired.rows.map((r) => r.step_id)).toEqual([]);
  });
});
