/**
 * Readiness criterion 4 is the information transferred to the units that got an admission notification (seed 001 §3:
 * "till de enheter som har fått ett inskrivningsmeddelande"). A re-routing to a municipality that has not had it drops
 * the criterion until the hospital reports the transfer again, and "när ovanstående sex kriterier är uppfyllda så
 * aktiveras utskrivningsklar": the dashboard counts the stay ready from when the criterion was met again, as the
 * engine and the liability, not from the first report; a ready notice that went out before the re-routing keeps its
 * time. Through the real HL7 intake under Västmanland: A01 with every criterion, an A08 moving the patient from
 * Västerås (1980) to Sala (1981), the ready notice, the transfer reported again, A03. And the one-off re-apply gives a
 * store from before (the first report's time in the summary) the engine's.
 */
import { describe, expect, it } from 'vitest';
import {
  backfillInformationTransferRerouted,
  INFORMATION_TRANSFER_REROUTED_BACKFILL,
} from '../../src/intake/stay/information-transferred-backfill';
import { intakeRepository, intakeServices } from '../../src/intake';
import { OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ALL, NEEDS, views } from './ready-views';

describe.each(testDatabases())('dashboard and the information transfer after a re-routing on %s', (kind) => {
  const v = views('vastmanland', kind);
  /** A01 in Västerås with every criterion (15 January 10:30), and the A08 moving the patient to Sala (16 January). */
  const admittedThenMoved = async (visit: string): Promise<void> => {
    await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
    await v.send({ event: 'A08', visit, municipality: '1981', obx: NEEDS, evnTime: '20260116090000' });
  };
  /** An A08 of the stay in Sala carrying `obx` at `evnTime`. */
  const inSala = (visit: string, obx: string[], evnTime: string) =>
    v.send({ event: 'A08', visit, municipality: '1981', obx: [...NEEDS, ...obx], evnTime });
  const ready = (visit: string) => inSala(visit, [OBX.ready('202601170900')], '20260117091500');
  const transferAgain = (visit: string) => inSala(visit, [OBX.criteria('informationsoverforing')], '20260119103000');
  const discharge = (visit: string) =>
    v.send({ event: 'A03', visit, municipality: '1981', discharge: '20260120140000', evnTime: '20260120140500' });
  const summaryTime = (visit: string) => v.summaryTime(visit, 'information_transferred_at');

  it('when the ready notice waits for the transfer to Sala and it is reported again, then the stay is ready from that report, as the engine and the liability', async () => {
    const visit = 'I-AGAIN';
    await admittedThenMoved(visit);
    // dropped: the summary has no time for criterion 4 while Sala has not had the transfer
    expect(await summaryTime(visit)).toBeNull();
    await ready(visit);
    await transferAgain(visit);
    await discharge(visit);
    expect(await summaryTime(visit)).toBe('2026-01-19T09:30:00.000Z');
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-19T09:30:00.000Z', 1]);
    expect(await v.dashboard(visit, '1981')).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(1);
  });

  it('when the transfer to Sala is never reported, then the held notice never went out: no ready days', async () => {
    const visit = 'I-NEVER';
    await admittedThenMoved(visit);
    await ready(visit);
    await discharge(visit);
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.dashboard(visit, '1981')).toBeUndefined();
    expect(await summaryTime(visit)).toBeNull();
  });

  it('when the ready notice went out before the re-routing, then it keeps its time, and the criterion the time it had then', async () => {
    const visit = 'I-OUT';
    await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.ready('202601170900')], evnTime: '20260117091500' });
    await v.send({ event: 'A08', visit, municipality: '1981', obx: NEEDS, evnTime: '20260118090000' });
    await transferAgain(visit);
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard(visit, '1981')).toEqual(engine);
    expect(await summaryTime(visit)).toBe('2026-01-15T09:30:00.000Z');
  });

  it('when the summary is made again from every fact, then it keeps the engine’s times', async () => {
    await v.rebuildAgrees();
  });

  it('when a store from before kept the first report’s time, then the one-off re-apply gives the engine’s', async () => {
    await v.h.db.query(
      `UPDATE stay_summary SET criteria_by_engine = false, information_transferred_at = (SELECT min(at)
         FROM stay_fact f WHERE f.stay_id = stay_summary.stay_id AND f.kind = 'readiness-criteria-met'
           AND f.body -> 'criteria' @> '["information-transferred"]')`,
    );
    expect(await v.dashboard('I-AGAIN', '1981')).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    await v.h.db.query('DELETE FROM schema_migrations WHERE name = $1', [INFORMATION_TRANSFER_REROUTED_BACKFILL]);
    const deps = intakeServices(v.h.ctx).deps;
    expect(await backfillInformationTransferRerouted(v.h.db, intakeRepository, deps)).toBe(3);
    expect(await v.dashboard('I-AGAIN', '1981')).toEqual(['2026-01-19T09:30:00.000Z', 1]);
    expect(await v.dashboard('I-NEVER', '1981')).toBeUndefined();
    expect(await v.dashboard('I-OUT', '1981')).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await summaryTime('I-OUT')).toBe('2026-01-15T09:30:00.000Z');
    await v.rebuildAgrees();
    expect(await backfillInformationTransferRerouted(v.h.db, intakeRepository, deps)).toBe(0);
  });
});
