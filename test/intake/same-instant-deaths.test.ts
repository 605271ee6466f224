import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, died, OBX, withField } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * One death reported twice at the same instant: an A03 with PV1-36 `20` (expired) and an A08 with PID-29/30. The
 * first message recorded is the death whatever its control id (MSH-10), so the municipality and the vårdcentral keep
 * the one request to close the case they got, and the later report changes nothing.
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];
const AT = '20260118113000';

/** The A03 whose discharge disposition says the patient died at AT, and the A08 carrying PID-29 = AT. */
const a03 = (visit: string, control: string): string =>
  withField(
    adt({ event: 'A03', visit, control, discharge: AT, evnTime: '20260118113500', listedUnit: 'SE2321000172-VC01' }),
    'PV1',
    36,
    '20',
  );
const a08 = (visit: string, control: string): string =>
  died(adt({ event: 'A08', visit, control, evnTime: '20260118120000', listedUnit: 'SE2321000172-VC01' }), AT);

describe.each(testDatabases())('a death reported twice at the same instant on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });
  const send = async (text: string): Promise<void> => {
    const ack = await h.send(text);
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  const closing = (tasks: readonly Task[]) =>
    tasks
      .filter((t) => codeOf(t) === 'avsluta-arende' && !isDuty(t))
      .map((t) => ({ id: t.id, status: t.status, key: t.identifier?.[0]?.value ?? '' }));

  it.each([
    [
      'the A03 first, its control id sorting last',
      'DD-1',
      (v: string) => [a03(v, `Z-${v}`), a08(v, `A-${v}`)],
      'Z-DD-1',
    ],
    [
      'the A08 first, its control id sorting last',
      'DD-2',
      (v: string) => [a08(v, `Z-${v}`), a03(v, `A-${v}`)],
      'Z-DD-2',
    ],
    [
      'the A03 first, its control id sorting first',
      'DD-3',
      (v: string) => [a03(v, `A-${v}`), a08(v, `Z-${v}`)],
      'A-DD-3',
    ],
  ])(
    'when %s, then each unit keeps the one request to close the case from the first report',
    async (_, visit, msgs, first) => {
      const stay = encounterIdFor(VISIT_SYSTEM, visit);
      await send(adt({ event: 'A01', visit, listedUnit: 'SE2321000172-VC01', expected: '20260125', obx: NEEDS }));
      const [one, two] = msgs(visit);
      await send(one!);
      const earlier = await h.tasks(stay);
      const before = closing(earlier);
      expect(before).toHaveLength(2);
      for (const t of before) expect(t.key, t.key).toContain(`:${first}#died`);
      await send(two!);
      const tasks = await h.tasks(stay);
      expect(closing(tasks)).toEqual(before);
      const withdrawals = (all: readonly Task[]) => all.filter((t) => codeOf(t) === 'makulering').map((t) => t.id);
      expect(withdrawals(tasks)).toEqual(withdrawals(earlier));
    },
  );
});
