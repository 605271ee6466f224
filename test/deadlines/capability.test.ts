import type { Task } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/compose.types';
import { loadConfig } from '../../src/config/config';
import { createDeadlinesCapability, type DeadlinesCapability } from '../../src/deadlines';
import { handleOutboxEvent } from '../../src/delivery/outbox-consumer';
import { toOutboxEvent, type OutboxProcessor, type OutboxRow } from '../../src/delivery/outbox.types';
import { ManualClock } from '../../src/platform/clock';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOrgs, createTask, firedSteps, HOUR, logger, systemRepo, waitFor } from './harness';

describe('deadlines capability', () => {
  let db: ClosableDb;
  let cap: DeadlinesCapability;
  let clock: ManualClock;
  const registered = new Map<string, OutboxProcessor>();
  const metrics = new Registry();

  beforeAll(async () => {
    db = await openTestDb('pglite');
    clock = new ManualClock('2026-04-01T06:00:00Z');
    const config = loadConfig({
      NODE_ENV: 'test',
      QUEUE_PREFIX: uniquePrefix(),
      AGREEMENT: 'jonkoping',
      AGREEMENTS_DIR: 'test/fixtures/agreements',
    });
    const ctx: AppContext = { config, db, redisUrl: testRedisUrl(), logger, clock, metrics };
    // The delivery capability's registration interface; the events are fed through its real consumer handler.
    cap = createDeadlinesCapability(ctx, {
      delivery: { registerOutboxConsumer: (name, processor) => registered.set(name, processor) },
      reconcileEveryMs: 200,
    });
    await cap.start!(new Set(['worker']));
  });
  afterAll(async () => {
    await cap.stop!();
    await db.close();
  });

  it('when started for the worker role, then Task events from the outbox arm the ladder and a clock move fires it', async () => {
    expect([...registered.keys()]).toEqual(['deadline-events']);
    const repo = systemRepo(db, clock);
    const orgs = await createOrgs(repo);
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 24 * HOUR),
    });
    const rows = await db.query<OutboxRow>('SELECT * FROM outbox ORDER BY id');
    for (const row of rows.rows) {
      await handleOutboxEvent(db, 'deadline-events', toOutboxEvent(row), registered.get('deadline-events')!, false);
    }
    const steps = await db.query('SELECT step_id FROM deadline_step WHERE task_id = $1', [t.id]);
    expect(steps.rows).toHaveLength(4);
    clock.advance(24 * HOUR);
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('overdue'), 15_000, 'overdue');
    expect((await repo.read<Task>('Task', t.id!)).businessStatus?.coding?.[0]?.code).toBe('overdue');
    // The counter is bumped just after the commit the test saw.
    await waitFor(
      async () => (await metrics.getSingleMetricAsString('svu_deadline_steps_total')).includes('result="fired"'),
      2000,
      'the fired counter',
    );
  });
});
