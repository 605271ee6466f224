import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import type { MessageOutcome } from '../../src/intake/hl7v2/message-outcome';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, dutyTask, intakeHarness, receiverTask, type IntakeHarness } from './harness';

/** Issue 13: nothing held back in silence (ACK ERR W, the stored outcome); every Västmanland criterion reachable. */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const ALL = [
  'lakarbedomning',
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
];

describe.each(testDatabases())('held-back facts and their inputs on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { HL7_ACK_AFTER: 'applied' } });
  });
  afterAll(async () => {
    await h.close();
  });
  const outcomeOf = (control: string): Promise<MessageOutcome> => h.outcome(control);

  it('when a ready notice comes before the six criteria, then AA with an ERR W naming the missing criteria, and the stored outcome says so', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'HB-1');
    await h.send(
      adt({ event: 'A01', visit: 'HB-1', control: 'HB-1a', obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
    );
    const ack = await h.send(
      adt({ event: 'A08', visit: 'HB-1', control: 'HB-1b', obx: [OBX.ready('20260116120000')] }),
    );
    expect(ackCode(ack)).toBe('AA');
    const warning = ack.getAllSegments('ERR').find((s) => s.getField(4)?.toString() === 'W');
    // named by the code the sender reports it with (OBX utskrivningsklar-kriterier)
    expect(warning?.toString()).toContain('skriftlig-information');
    expect((await h.tasks(stay)).map(codeOf)).not.toContain('utskrivningsklar');
    const o = await outcomeOf('HB-1b');
    expect(o.warnings.map((w) => w.code)).toContain('fact-not-applied');
    expect(o.encounter).toMatchObject({ id: stay });
    const first = await outcomeOf('HB-1a');
    expect(first.tasks.created.length).toBeGreaterThan(0);
  });

  it('when the six criteria are then reported over OBX utskrivningsklar-kriterier, then an utskrivningsklar Task for Västerås', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'HB-1');
    const ack = await h.send(adt({ event: 'A08', visit: 'HB-1', control: 'HB-1c', obx: [OBX.criteria(...ALL)] }));
    expect(ackCode(ack)).toBe('AA');
    const ready = (await h.tasks(stay)).find((t) => codeOf(t) === 'utskrivningsklar');
    expect(ready?.owner?.reference).toBe(`Organization/${h.vasteras.id}`);
    expect((await outcomeOf('HB-1c')).tasks.created).toContain(`Task/${ready?.id ?? ''}`);
  });

  it('when the A01 is sent (MSH-7) three days after the admission, then the hospital duty is completed and late; one sent at once is on time', async () => {
    const late = encounterIdFor(VISIT_SYSTEM, 'HB-LATE');
    await h.send(
      adt({
        event: 'A01',
        visit: 'HB-LATE',
        admit: '20260112103000',
        evnTime: '20260115103500',
        obx: [OBX.needs('socialtjanst')],
      }),
    );
    const duty = dutyTask(await h.tasks(late), 'inskrivningsmeddelande');
    expect(duty?.owner?.reference).toBe(`Organization/${h.hospital.id}`);
    expect(duty?.requester?.reference).toBe(`Organization/${h.vasteras.id}`);
    expect(duty?.status).toBe('completed');
    expect(duty?.businessStatus?.coding?.[0]?.code).toBe('overdue');
    expect(Date.parse(duty?.executionPeriod?.end ?? '')).toBe(Date.parse('2026-01-15T10:35:00+01:00'));
    const onTime = dutyTask(await h.tasks(encounterIdFor(VISIT_SYSTEM, 'HB-1')), 'inskrivningsmeddelande');
    expect(onTime?.businessStatus?.coding?.[0]?.code).toBe('on-time');
    const receiver = receiverTask(await h.tasks(late), 'inskrivningsmeddelande');
    expect(receiver?.restriction).toBeUndefined();
    // The personnummer beside the reference (issue 16 item 6): no second call for the municipality.
    expect(receiver?.for?.identifier).toEqual({
      system: 'http://electronichealth.se/identifier/personnummer',
      value: '193803129828',
    });
    expect(receiver?.basedOn?.[0]?.reference).toBe(`Task/${duty?.id ?? ''}`);
  });
});
