import type { Task } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toOutboxEvent, type OutboxEvent, type OutboxRow } from '../../src/delivery/outbox.types';
import { ManualClock } from '../../src/platform/clock';
import type { ClosableDb, Db } from '../../src/store/db.port';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOrgs, createTask, HOUR, startService, stepStates, systemRepo, type Harness } from './harness';

const START = '2026-03-10T07:00:00Z';

/** A transaction handle that counts the statements run through it. */
function counting(tx: Db): { db: Db; count: () => number } {
  let n = 0;
  const db: Db = {
    kind: tx.kind,
    query: (sql, params) => {
      n++;
      return tx.query(sql, params);
    },
    transaction: (fn) => tx.transaction(fn),
  };
  return { db, count: () => n };
}

describe.each(testDatabases())("the deadline worker's outbox batches on %s", (kind) => {
  let db: ClosableDb;
  let clock: ManualClock;
  let repo: FhirRepository;
  let h: Harness;
  let orgs: Awaited<ReturnType<typeof createOrgs>>;

  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    clock = new ManualClock(START);
    repo = systemRepo(db, clock);
    orgs = await createOrgs(repo);
    h = await startService(db, clock, testRedisUrl(), uniquePrefix(), { worker: false });
  });
  afterEach(async () => {
    await h.close();
  });

  const task = (hours: number) =>
    createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + hours * HOUR),
    });

  /** The Task rows of the outbox after `afterId`, as the relay gives them (the resource along where `focus`). */
  async function events(afterId: number, focus: (e: OutboxEvent) => boolean): Promise<OutboxEvent[]> {
    const { rows } = await db.query<OutboxRow & { content: string | null }>(
      `SELECT o.*, (SELECT r.content FROM fhir_resource r WHERE r.resource_type = o.resource_type
                      AND r.id = o.resource_id AND r.version_id::text = o.version_id AND NOT r.deleted) AS content
         FROM outbox o WHERE o.id > $1 AND o.resource_type = 'Task' ORDER BY o.id`,
      [afterId],
    );
    return rows.map((r) => {
      const e = toOutboxEvent(r);
      return r.content && focus(e) ? { ...e, focusJson: r.content } : e;
    });
  }

  const lastOutboxId = async () =>
    (await db.query<{ n: number }>('SELECT COALESCE(max(id), 0)::int AS n FROM outbox')).rows[0]!.n;

  const deadlineRow = async (id: string) =>
    (
      await db.query<{ status: string; open: boolean; version_id: string | null }>(
        'SELECT status, open, version_id FROM deadline_task WHERE task_id = $1',
        [id],
      )
    ).rows[0];

  it('when a batch holds new, changed, closed, deleted and deadline-free Tasks, then each is brought in line once, with a statement per kind of change, and a batch seen before changes nothing', async () => {
    // known before the batch: planned one by one, as the start-up scan does
    const closing = await task(24);
    const deleting = await task(48);
    await h.service.syncTask(closing.id!);
    await h.service.syncTask(deleting.id!);
    const from = await lastOutboxId();
    const fresh = await task(24);
    await repo.update<Task>({ ...fresh, description: 'ändrad' }); // two rows of one Task in the batch
    const free = await repo.create<Task>({ ...fresh, id: undefined, meta: undefined, restriction: undefined });
    await repo.update<Task>({ ...closing, status: 'completed' });
    await repo.delete('Task', deleting.id!);
    // the relay read the resource along for all but the closed Task, which is read here
    const batch = await events(from, (e) => e.resourceId !== closing.id);
    expect(batch.map((e) => e.action)).toEqual(['create', 'update', 'create', 'update', 'delete']);

    const counted = await db.transaction(async (tx) => {
      const c = counting(tx);
      await h.service.outboxBatch(batch, c.db);
      return c.count();
    });
    // read the closed Task, create the new Task's row, lock, mark the deleted one, upsert, cancel, read and plan steps
    expect(counted).toBe(8);
    expect(await deadlineRow(fresh.id!)).toEqual({ status: 'requested', open: true, version_id: '2' });
    expect(Object.values(await stepStates(db, fresh.id!)).every((s) => !s.cancelled_at)).toBe(true);
    expect(Object.keys(await stepStates(db, fresh.id!)).length).toBeGreaterThan(0);
    expect(await deadlineRow(free.id!)).toBeUndefined();
    expect(await deadlineRow(closing.id!)).toEqual({ status: 'completed', open: false, version_id: '2' });
    expect(await deadlineRow(deleting.id!)).toEqual({ status: 'deleted', open: false, version_id: '1' });
    for (const [id, reason] of [
      [closing.id!, 'task-closed'],
      [deleting.id!, 'task-deleted'],
    ] as const) {
      const steps = Object.values(await stepStates(db, id));
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.every((s) => s.cancelled_at && s.outcome?.reason === reason)).toBe(true);
    }

    // the same rows again (a job run twice): the Tasks already in line are skipped, nothing is re-planned
    const before = await stepStates(db, fresh.id!);
    const again = await db.transaction(async (tx) => h.service.outboxBatch(batch, tx));
    expect(await stepStates(db, fresh.id!)).toEqual(before);
    expect(again).toBeTypeOf('function'); // only the deleted Task is brought in line again (no open step left)
  });

  it('when the rows of a batch are handled one at a time, then the outcome is the same as in one batch', async () => {
    const from = await lastOutboxId();
    const a = await task(24);
    const b = await task(72);
    await repo.update<Task>({ ...b, status: 'cancelled' });
    for (const e of await events(from, () => true)) {
      await db.transaction(async (tx) => h.service.outboxProcessor(e, tx));
    }
    expect(await deadlineRow(a.id!)).toEqual({ status: 'requested', open: true, version_id: '1' });
    expect(await deadlineRow(b.id!)).toEqual({ status: 'cancelled', open: false, version_id: '2' });
    expect(Object.values(await stepStates(db, b.id!)).every((s) => s.outcome?.reason === 'task-closed')).toBe(true);
  });
});
