import { Hl7Message } from '@medplum/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { RawMllpClient } from '../support/mllp-raw';
import { intakeHarness, type IntakeHarness } from './harness';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const msa = (ack: string) => Hl7Message.parse(ack).getSegment('MSA');

describe.each(testDatabases())('several HL7 messages in one MLLP frame on %s', (kind) => {
  let h: IntakeHarness;
  let client: RawMllpClient;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true });
    client = await RawMllpClient.connect(h.intake.mllpPort() ?? 0);
  });
  afterAll(async () => {
    client.close();
    await h.close();
  });

  const encounterExists = async (visit: string) =>
    (await h.db.query('SELECT 1 FROM fhir_resource WHERE id = $1', [encounterIdFor(VISIT_SYSTEM, visit)])).rows.length >
    0;
  const rowOf = async (control: string) =>
    (
      await h.db.query<{ status: string; error_code: string | null }>(
        'SELECT status, error_code FROM hl7_message WHERE control_id = $1',
        [control],
      )
    ).rows;

  it('when two ADT messages share one frame, then one AR naming the reason, neither is applied, and the frame is kept as rejected', async () => {
    const first = adt({ event: 'A01', visit: 'V-FRAME-1', control: 'TWO-1', obx: [OBX.needs('socialtjanst')] });
    const second = adt({ event: 'A01', visit: 'V-FRAME-2', control: 'TWO-2', obx: [OBX.needs('socialtjanst')] });
    client.send(`${first}\r${second}`);
    const ack = await client.next();
    expect(msa(ack)?.getField(1)?.toString()).toBe('AR');
    expect(msa(ack)?.getField(2)?.toString()).toBe('TWO-1');
    expect(ack).toMatch(/2 messages/);
    await h.intake.settled();
    expect(await encounterExists('V-FRAME-1')).toBe(false);
    expect(await encounterExists('V-FRAME-2')).toBe(false);
    expect(await rowOf('TWO-1')).toEqual([{ status: 'rejected', error_code: 'bad-hl7-structure' }]);
    // one answer for the one frame: the sender's next ACK is not shifted
    expect(client.pending()).toBe(0);
  });

  it('when the sender then sends each message in its own frame, then AA for each and both stays exist', async () => {
    for (const [visit, control] of [
      ['V-FRAME-1', 'ONE-1'],
      ['V-FRAME-2', 'ONE-2'],
    ] as const) {
      client.send(adt({ event: 'A01', visit, control, obx: [OBX.needs('socialtjanst')] }));
      expect(
        msa(await client.next())
          ?.getField(1)
          ?.toString(),
      ).toBe('AA');
    }
    await h.intake.settled();
    expect(await encounterExists('V-FRAME-1')).toBe(true);
    expect(await encounterExists('V-FRAME-2')).toBe(true);
  });

  it('when two messages arrive over POST /hl7v2 in one body, then AR as well', async () => {
    const text = `${adt({ event: 'A08', visit: 'V-FRAME-3', control: 'HTTP-2' })}\n${adt({ event: 'A08', visit: 'V-FRAME-4' })}`;
    const out = await h.intake.process(text, { channel: 'http' });
    expect(out.ackCode).toBe('AR');
    expect(out.ack).toMatch(/2 messages/);
  });
});
