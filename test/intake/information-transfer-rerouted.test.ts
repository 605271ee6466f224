import type { Encounter, Task } from '@medplum/fhirtypes';
import { engineIssuesOf } from '../../src/fhir/encounter-extensions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, ALL_CRITERIA_CODES, OBX, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * The information transfer reaches the units that got an admission notification (seed 001 §3 criterion 4): one the
 * hospital reported before an A08 moved the patient to another municipality went to the first one, so the new
 * municipality's Task and the hospital's duty towards it stay open until the hospital reports the transfer again.
 * Gävleborg: the Task arises, and is due, the day the patient is ready (002 "Vårdens informationsöverföring").
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VISIT = 'INFO-R';
const VC = 'SE2321000172-VC01';
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];

describe.each(testDatabases())('the information transfer to a municipality the stay was re-routed to on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { AGREEMENT: 'gavleborg' } });
  });
  afterAll(async () => {
    await h.close();
  });
  const send = async (o: AdtOptions): Promise<void> => {
    const ack = await h.send(adt({ visit: VISIT, listedUnit: VC, ...o }));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  /** The information transfer Tasks towards a municipality: its own and the hospital's duty. */
  const infoTo = async (org: string): Promise<{ own?: Task; duty?: Task }> => {
    const tasks = (await h.tasks(encounterIdFor(VISIT_SYSTEM, VISIT))).filter(
      (t) => codeOf(t) === 'informationsoverforing',
    );
    return {
      own: tasks.find((t) => !isDuty(t) && t.owner?.reference === org),
      duty: tasks.find((t) => isDuty(t) && t.requester?.reference === org),
    };
  };

  it('when the transfer was reported before the A08 that moved the patient to Sala, then Sala’s Task and the hospital’s duty towards it are open; reported again, the duty is met then', async () => {
    const vasteras = `Organization/${h.vasteras.id}`;
    const sala = `Organization/${h.sala.id}`;
    await send({ event: 'A01', municipality: '1980', expected: '20260125', obx: NEEDS });
    await send({
      event: 'A08',
      municipality: '1980',
      evnTime: '20260116090000',
      obx: [OBX.ready('202601160900'), OBX.criteria('informationsoverforing')],
    });
    expect((await infoTo(vasteras)).duty).toMatchObject({
      status: 'completed',
      executionPeriod: { end: '2026-01-16T08:00:00.000Z' },
    });

    await send({ event: 'A08', municipality: '1981', evnTime: '20260116110000' });
    const moved = await infoTo(sala);
    expect(moved.own?.status).toBe('requested');
    expect(moved.duty?.status).toBe('requested');
    expect(moved.duty?.executionPeriod?.end).toBeUndefined();
    expect(moved.duty?.restriction?.period?.end).toBe('2026-01-16T22:59:59.999Z');
    // Västerås had it before the re-routing: its duty stays met.
    expect((await infoTo(vasteras)).duty?.status).toBe('completed');

    await send({
      event: 'A08',
      municipality: '1981',
      evnTime: '20260116140000',
      obx: [OBX.criteria('informationsoverforing')],
    });
    const again = await infoTo(sala);
    expect(again.duty).toMatchObject({ status: 'completed', executionPeriod: { end: '2026-01-16T13:00:00.000Z' } });
    expect(again.own?.status).toBe('requested');
  });
});

/**
 * Västmanland's readiness gate (001 §3) counts criterion 4 for the units the information reached: a ready notice not
 * yet sent when an A08 moved the patient to Sala waits until the hospital reports the transfer again, then goes to
 * Sala; the hospital is told what it waits for, and to which unit, by its name.
 */
describe.each(testDatabases())('the readiness gate after a re-routing, through HL7, on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { AGREEMENT: 'vastmanland' } });
  });
  afterAll(async () => {
    await h.close();
  });
  const visit = 'GATE-R';
  const send = async (o: AdtOptions): Promise<void> => {
    const ack = await h.send(adt({ visit, listedUnit: VC, ...o }));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  const readyTo = async (org: string) =>
    (await h.tasks(encounterIdFor(VISIT_SYSTEM, visit))).filter(
      (t) => codeOf(t) === 'utskrivningsklar' && !isDuty(t) && t.owner?.reference === org && t.status === 'requested',
    );
  const all = OBX.criteria(...ALL_CRITERIA_CODES);

  it('when the transfer was reported before the A08 that moved the patient to Sala, then the ready notice waits for the transfer to Sala, and goes out when it is reported again', async () => {
    const sala = `Organization/${h.sala.id}`;
    await send({ event: 'A01', municipality: '1980', expected: '20260125', obx: [...NEEDS, all] });
    await send({ event: 'A08', municipality: '1981', evnTime: '20260116090000' });
    await send({
      event: 'A08',
      municipality: '1981',
      evnTime: '20260116100000',
      control: 'GATE-R-READY',
      obx: [OBX.ready('202601161000')],
    });
    expect(await readyTo(sala)).toEqual([]);
    // the hospital is told what the notice waits for
    const held = JSON.stringify(await h.outcome('GATE-R-READY'));
    expect(held).toContain('informationsoverforing was reported before the stay was re-routed');
    // and to which unit it must report it: Sala, by its name in the directory, in the ACK and on the Encounter
    const toSala = 'report the transfer to Sala kommun, by the criterion again or by completing the duty towards it';
    expect(held).toContain(toSala);
    const issue = engineIssuesOf(await h.repo.read<Encounter>('Encounter', encounterIdFor(VISIT_SYSTEM, visit))).find(
      (x) => x.startsWith('ready:'),
    );
    expect(issue).toContain(toSala);
    expect(issue).not.toContain('kommun 1981');

    await send({
      event: 'A08',
      municipality: '1981',
      evnTime: '20260116140000',
      obx: [OBX.criteria('informationsoverforing')],
    });
    expect((await readyTo(sala)).length).toBe(1);
  });
});
