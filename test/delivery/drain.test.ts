import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryService, type DeliveryService } from '../../src/delivery/delivery-service';
import type { OutboxEvent } from '../../src/delivery/outbox.types';
import type { ClosableDb } from '../../src/store/db.port';
import { fastOptions, openDeliveryDb } from './fixture';

// Shutdown: the outbox consumers run other capabilities' code (the deadlines' `deadline-events` handler), so the
// delivery service drains them before any capability closes. `drain` must wait for the job a consumer holds and
// leave no consumer taking new rows afterwards.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function addOutboxRow(db: ClosableDb, n: number): Promise<void> {
  await db.query(
    `INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
     VALUES ('resource-changed', 'Basic', $1, '1', 'create', $1)`,
    [`drain-${n}`],
  );
}

describe('delivery service drain', () => {
  let db: ClosableDb;
  let service: DeliveryService;
  const calls: { id: string; phase: 'start' | 'end' }[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));

  beforeAll(async () => {
    db = await openDeliveryDb('pglite');
    service = createDeliveryService(fastOptions(db, { directDispatch: false }));
    service.registerOutboxConsumer(
      'probe',
      async (event: OutboxEvent) => {
        calls.push({ id: event.resourceId ?? '', phase: 'start' });
        await gate;
        calls.push({ id: event.resourceId ?? '', phase: 'end' });
      },
      { ordered: true, concurrency: 1 },
    );
    service.start();
  });
  afterAll(async () => {
    release();
    await service.stop();
    await db.close();
  });

  it('when drained with a consumer job in flight, then drain waits for it and no consumer takes a row after', async () => {
    await addOutboxRow(db, 1);
    const until = Date.now() + 15_000;
    while (!calls.some((c) => c.phase === 'start') && Date.now() < until) await sleep(20);
    expect(calls).toEqual([{ id: 'drain-1', phase: 'start' }]);

    let drained = false;
    const draining = service.drain().then(() => (drained = true));
    await sleep(300);
    expect(drained).toBe(false); // the held job has not ended yet
    release();
    await draining;
    expect(calls).toEqual([
      { id: 'drain-1', phase: 'start' },
      { id: 'drain-1', phase: 'end' },
    ]);

    await addOutboxRow(db, 2);
    await sleep(500); // the relay polls every 20 ms in these settings
    expect(calls.map((c) => c.id)).not.toContain('drain-2');
    const pending = await db.query<{ id: number }>(
      "SELECT id FROM outbox WHERE resource_id = 'drain-2' AND dispatched_at IS NULL",
    );
    expect(pending.rows).toHaveLength(1); // left for the next start, not lost
  }, 30_000);
});
