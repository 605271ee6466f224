import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import type { MessageOutcome } from '../../src/intake/hl7v2/message-outcome';
import { adt, needsAssessedAt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { codeOf, intakeHarness, receiverTask, type IntakeHarness } from './harness';

/** Process defects found by playing the parties against a running gateway, each through the real HL7 intake. */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VC = 'SE2321000172-VC01';

describe.each(testDatabases())('stay process over HL7 on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { HL7_ACK_AFTER: 'applied' } });
  });
  afterAll(async () => {
    await h.close();
  });
  const outcomeOf = async (control: string): Promise<MessageOutcome> => {
    const r = await h.db.query<{ outcome: MessageOutcome | string }>(
      'SELECT outcome FROM hl7_message WHERE control_id = $1',
      [control],
    );
    const o = r.rows[0]?.outcome;
    return typeof o === 'string' ? (JSON.parse(o) as MessageOutcome) : (o as MessageOutcome);
  };
  const only = async (stay: string, code: string): Promise<Task> => {
    const found = (await h.tasks(stay)).filter((t) => codeOf(t) === code);
    expect(found, code).toHaveLength(1);
    return found[0]!;
  };

  it('when the patient is discharged (A03) before the estimated discharge, then the FVK Task is due at the discharge, not the estimate (law 2 kap. 5 §)', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'SP-FVK');
    const needs = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];
    await h.send(adt({ event: 'A01', visit: 'SP-FVK', listedUnit: VC, expected: '20260125', obx: needs }));
    const before = await only(stay, 'utse-fast-vardkontakt');
    expect(before.restriction?.period?.end).toBe('2026-01-24T23:00:00.000Z');
    await h.send(
      adt({
        event: 'A03',
        visit: 'SP-FVK',
        control: 'SP-FVK-A03',
        listedUnit: VC,
        discharge: '20260118120000',
        evnTime: '20260118120500',
      }),
    );
    const after = await only(stay, 'utse-fast-vardkontakt');
    expect(after.status).toBe('requested');
    expect(after.restriction?.period?.end).toBe('2026-01-18T11:00:00.000Z');
    expect((await outcomeOf('SP-FVK-A03')).tasks.changed).toContain(`Task/${after.id ?? ''}`);
  });

  it('when an A08 brings the needs (assessed earlier, OBX-14) and the first estimated discharge, then the admission notification carries the estimate and no estimate-changed Task is made; a later change makes one (law 2 kap. 1–2 §, 4 §)', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'SP-EST');
    await h.send(adt({ event: 'A01', visit: 'SP-EST' }));
    await h.send(
      adt({
        event: 'A08',
        visit: 'SP-EST',
        control: 'SP-EST-A08',
        evnTime: '20260116090000',
        expected: '20260125',
        listedUnit: VC,
        extra: [needsAssessedAt('20260116080000', 'socialtjanst', 'oppenvard')],
      }),
    );
    const tasks = await h.tasks(stay);
    expect(tasks.filter((t) => codeOf(t) === 'beraknad-utskrivning-andrad')).toEqual([]);
    const notices = tasks.filter((t) => codeOf(t) === 'inskrivningsmeddelande');
    expect(notices.length).toBeGreaterThanOrEqual(2);
    for (const t of notices) expect(t.description).toMatch(/utskrivning: 2026-01-25$/);
    await h.send(
      adt({ event: 'A08', visit: 'SP-EST', evnTime: '20260117090000', expected: '20260127', listedUnit: VC }),
    );
    const changed = receiverTask(await h.tasks(stay), 'beraknad-utskrivning-andrad');
    expect(changed?.description).toMatch(/: 2026-01-27$/);
  });
});
