import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, intakeHarness, type IntakeHarness } from './harness';

/**
 * The ACK's MSH-7 is the gateway's clock in Swedish local time with its offset: the sender reads a time without an
 * offset as its own local time, as the gateway reads the sender's, so the UTC medplum writes would be an hour off in
 * winter and two in summer. Over MLLP, as an EHR receives it.
 */
describe.each(testDatabases())('the ACK says when in Swedish time, on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ['2026-01-15T10:00:00Z', 'AT-1', '20260115110000.000+0100'],
    ['2026-07-01T10:00:00.250Z', 'AT-2', '20260701120000.250+0200'],
  ])('when the gateway answers at %s, then MSH-7 of the ACK is %s', async (now, visit, ts) => {
    h.clock.set(now);
    const ack = await h.send(adt({ event: 'A01', visit, control: `${visit}a`, obx: [OBX.needs('socialtjanst')] }));
    expect(ackCode(ack)).toBe('AA');
    expect(ack.getSegment('MSH')?.getField(7)?.toString()).toBe(ts);
  });
});
