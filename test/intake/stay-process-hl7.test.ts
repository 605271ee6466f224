import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import type { MessageOutcome } from '../../src/intake/hl7v2/message-outcome';
import { adt, died, needsAssessedAt, OBX, withField } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, receiverTask, type IntakeHarness } from './harness';

/** Process defects found by playing the parties against a running gateway, each through the real HL7 intake. */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VC = 'SE2321000172-VC01';
const NEEDS = [OBX.needs('socialtjanst'), OBX.consent('ja')];

describe.each(testDatabases())('stay process over HL7 on %s', (kind) => {
  let h: IntakeHarness;
  let deaths = 0;
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { HL7_ACK_AFTER: 'applied' } });
  });
  afterAll(async () => {
    await h.close();
  });
  const outcomeOf = (control: string): Promise<MessageOutcome> => h.outcome(control);
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

  it.each([
    [
      'an A08 with PID-29/30',
      (v: string, c: string) =>
        died(adt({ event: 'A08', visit: v, control: c, evnTime: '20260118120500' }), '20260118113000'),
    ],
    [
      'an A03 with PID-29/30 repeating the needs and the estimate',
      (v: string, c: string) =>
        died(
          adt({
            event: 'A03',
            visit: v,
            control: c,
            evnTime: '20260118120500',
            discharge: '20260118120000',
            expected: '20260125',
            obx: NEEDS,
          }),
          '20260118113000',
        ),
    ],
    [
      'an A03 with PV1-36 = 20 (expired)',
      (v: string, c: string) =>
        withField(
          adt({ event: 'A03', visit: v, control: c, evnTime: '20260118120500', discharge: '20260118113000' }),
          'PV1',
          36,
          '20',
        ),
    ],
  ])(
    'when %s reports the death, then the death is applied and neither the ACK nor the outcome warns of a fact not applied',
    async (_what, build) => {
      const visit = `SP-DIED-${++deaths}`;
      const stay = encounterIdFor(VISIT_SYSTEM, visit);
      await h.send(adt({ event: 'A01', visit, expected: '20260125', obx: NEEDS }));
      const control = `${visit}-death`;
      const ack = await h.send(build(visit, control));
      expect(ackCode(ack)).toBe('AA');
      expect(ack.toString()).not.toContain('fact-not-applied');
      const outcome = await outcomeOf(control);
      expect(outcome.warnings.map((w) => w.code)).not.toContain('fact-not-applied');
      const closing = receiverTask(await h.tasks(stay), 'avsluta-arende');
      expect(closing?.description).toContain('avlidit');
      expect(outcome.tasks.created).toContain(`Task/${closing?.id ?? ''}`);
      // The same death sent again is a repeat, not a fact held back.
      const again = await h.send(build(visit, `${control}-again`));
      expect(again.toString()).not.toContain('fact-not-applied');
      expect((await outcomeOf(`${control}-again`)).warnings.map((w) => w.code)).not.toContain('fact-not-applied');
    },
  );

  it('when a message after the death changes what the stay holds (a new estimate), then it still says that fact was not applied', async () => {
    const visit = 'SP-DIED-CHANGE';
    await h.send(adt({ event: 'A01', visit, expected: '20260125', obx: NEEDS }));
    const control = `${visit}-death`;
    const ack = await h.send(
      died(adt({ event: 'A08', visit, control, evnTime: '20260118120500', expected: '20260127' }), '20260118113000'),
    );
    expect(ack.toString()).toContain('fact-not-applied');
    expect((await outcomeOf(control)).warnings).toContainEqual({
      code: 'fact-not-applied',
      text: 'estimated-discharge: ignored: the patient has died',
    });
  });
});
