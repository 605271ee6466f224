import type { Task } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliveryService } from '../../src/delivery/delivery-service';
import { codeOf, intakeHarness, isDuty, type IntakeHarness } from '../intake/harness';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { fastOptions, subscribe, subscriptionFor } from './fixture';
import { eventNumbers, startReceiver, waitFor, type TestReceiver } from './helpers';

/**
 * The municipality as a receiver: per stay, notifications arrive in the order the facts happened (peers.md bar 3),
 * also when the hospital's messages come in one burst and are applied in one transaction.
 */
describe.each(testDatabases())('notification order per stay, as a receiver sees it, on %s', (kind) => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function setup(): Promise<{ h: IntakeHarness; receiver: TestReceiver }> {
    const h = await intakeHarness(kind);
    closers.push(() => h.close());
    const service = createDeliveryService(fastOptions(h.db));
    service.start();
    closers.push(() => service.stop());
    const receiver = await startReceiver();
    closers.push(() => receiver.close());
    const vasteras = `Organization/${h.vasteras.id}`;
    await subscribe(
      h.db,
      { clientId: 'demo-vasteras', organization: vasteras, role: 'municipality' },
      subscriptionFor(receiver.url, { criteria: `Task?owner=${vasteras}` }),
    );
    return { h, receiver };
  }

  /** The receiver's Tasks in the order their notifications arrived (event numbers checked to be increasing). */
  const arrived = (receiver: TestReceiver): Task[] => {
    const numbers = receiver.events().flatMap(eventNumbers);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    return receiver.events().flatMap((r) => (r.json.entry ?? []).slice(1).map((e) => e.resource as unknown as Task));
  };

  it('when A01 with an estimate and an A08 changing it come in one burst, then the admission notice arrives before the estimate change', async () => {
    const { h, receiver } = await setup();
    const visit = 'ORD-1';
    const burst = [
      adt({
        event: 'A01',
        visit,
        expected: '20260120',
        evnTime: '20260115103500',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')],
      }),
      adt({
        event: 'A08',
        visit,
        expected: '20260122',
        evnTime: '20260115120000',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')],
      }),
    ];
    // Both handed in before either is applied: one lane, one batch, one transaction.
    const outcomes = await Promise.all(burst.map((m) => h.intake.process(m, { channel: 'http' })));
    await h.intake.settled();
    for (const o of outcomes) expect(o.ack).toContain('MSA|AA');
    await waitFor(
      () => arrived(receiver).some((t) => codeOf(t) === 'beraknad-utskrivning-andrad'),
      10_000,
      'the estimate change',
    );
    await waitFor(
      () => arrived(receiver).some((t) => codeOf(t) === 'inskrivningsmeddelande'),
      10_000,
      'the admission notice',
    );
    const codes = arrived(receiver)
      .filter((t) => !isDuty(t))
      .map(codeOf);
    expect(codes.indexOf('inskrivningsmeddelande')).toBeGreaterThanOrEqual(0);
    expect(codes.indexOf('inskrivningsmeddelande')).toBeLessThan(codes.indexOf('beraknad-utskrivning-andrad'));
  });
});
