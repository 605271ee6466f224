/**
 * Readiness criterion 3 is the named care contact appointed by the unit the stay is routed to (seed 001 §3: "Fast
 * vårdkontakt har utsetts i den landstingsfinansierade öppna vården"). A re-routing to another vårdcentral drops the
 * criterion until the new unit's contact is reported appointed, and "när ovanstående sex kriterier är uppfyllda så
 * aktiveras utskrivningsklar": the dashboard counts the stay ready from when the criterion was met again, as the
 * engine and the liability, not from the first report; a ready notice that went out before the re-routing keeps its
 * time (ADR 056). Through the real HL7 intake under Västmanland: A01 listed at one vårdcentral with the named care
 * contact and the other criteria but the information transfer, an A08 listing the patient at another vårdcentral
 * (with the transfer, so only criterion 3 waits), the ready notice, the new contact reported, A03. And the one-off
 * re-apply gives a store from before (the first report's time in the summary) the engine's.
 */
import { describe, expect, it } from 'vitest';
import {
  backfillFvkAppointedRerouted,
  FVK_APPOINTED_REROUTED_BACKFILL,
} from '../../src/intake/stay/information-transferred-backfill';
import { intakeRepository, intakeServices } from '../../src/intake';
import { OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ALL, NEEDS_WITH_HSL, VC1, VC2, views } from './ready-views';

const ALL_BUT_TRANSFER = ALL.filter((c) => c !== 'informationsoverforing');

describe.each(testDatabases())('dashboard and the named care contact after a re-routing on %s', (kind) => {
  const v = views('vastmanland', kind);
  /** An A08 of the stay listed at `listedUnit` carrying `obx` at `evnTime`. */
  const update = (visit: string, listedUnit: string, obx: string[], evnTime: string) =>
    v.send({ event: 'A08', visit, listedUnit, obx: [...NEEDS_WITH_HSL, ...obx], evnTime });
  /**
   * A01 listed at VC01 with every criterion but the information transfer (15 January 10:30), and the A08 listing the
   * patient at VC02 with the transfer reported (16 January): the named care contact VC01 appointed is not VC02's.
   */
  const admittedThenRelisted = async (visit: string): Promise<void> => {
    await v.send({ event: 'A01', visit, listedUnit: VC1, obx: [...NEEDS_WITH_HSL, OBX.criteria(...ALL_BUT_TRANSFER)] });
    await update(visit, VC2, [OBX.criteria('informationsoverforing')], '20260116090000');
  };
  const ready = (visit: string) => update(visit, VC2, [OBX.ready('202601170900')], '20260117091500');
  const appointedAgain = (visit: string) => update(visit, VC2, [OBX.criteria('fast-vardkontakt')], '20260119103000');
  const discharge = (visit: string) =>
    v.send({
      event: 'A03',
      visit,
      listedUnit: VC2,
      discharge: '20260120140000',
      evnTime: '20260120140500',
    });
  const summaryTime = (visit: string) => v.summaryTime(visit, 'fvk_appointed_at');

  it('when the ready notice waits for the new vårdcentral’s named care contact and it is reported, then the stay is ready from that report, as the engine and the liability', async () => {
    const visit = 'F-AGAIN';
    await admittedThenRelisted(visit);
    // dropped: the summary has no time for criterion 3 while VC02 has appointed no contact
    expect(await summaryTime(visit)).toBeNull();
    await ready(visit);
    await appointedAgain(visit);
    await discharge(visit);
    expect(await summaryTime(visit)).toBe('2026-01-19T09:30:00.000Z');
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-19T09:30:00.000Z', 1]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(1);
  });

  it('when the new vårdcentral’s contact is never reported, then the held notice never went out: no ready days', async () => {
    const visit = 'F-NEVER';
    await admittedThenRelisted(visit);
    await ready(visit);
    await discharge(visit);
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.dashboard(visit)).toBeUndefined();
    expect(await v.liabilityDays(visit)).toBe(0);
    expect(await summaryTime(visit)).toBeNull();
  });

  it('when the ready notice went out before the re-routing, then it keeps its time, and the criterion the time it had then', async () => {
    const visit = 'F-OUT';
    await v.send({ event: 'A01', visit, listedUnit: VC1, obx: [...NEEDS_WITH_HSL, OBX.criteria(...ALL)] });
    await update(visit, VC1, [OBX.ready('202601170900')], '20260117091500');
    await update(visit, VC2, [OBX.criteria('informationsoverforing')], '20260118090000');
    await appointedAgain(visit);
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await summaryTime(visit)).toBe('2026-01-15T09:30:00.000Z');
  });

  it('when the summary is made again from every fact, then it keeps the engine’s times', async () => {
    await v.rebuildAgrees();
  });

  it('when a store from before kept the first report’s time, then the one-off re-apply gives the engine’s', async () => {
    await v.h.db.query(
      `UPDATE stay_summary SET criteria_by_engine = false, fvk_appointed_at = (SELECT min(at) FROM stay_fact f
         WHERE f.stay_id = stay_summary.stay_id AND f.kind = 'readiness-criteria-met'
           AND f.body -> 'criteria' @> '["fvk-appointed"]')`,
    );
    expect(await v.dashboard('F-AGAIN')).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard('F-NEVER')).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    await v.h.db.query('DELETE FROM schema_migrations WHERE name = $1', [FVK_APPOINTED_REROUTED_BACKFILL]);
    const deps = intakeServices(v.h.ctx).deps;
    expect(await backfillFvkAppointedRerouted(v.h.db, intakeRepository, deps)).toBe(3);
    expect(await v.dashboard('F-AGAIN')).toEqual(['2026-01-19T09:30:00.000Z', 1]);
    expect(await v.dashboard('F-NEVER')).toBeUndefined();
    expect(await v.dashboard('F-OUT')).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await summaryTime('F-OUT')).toBe('2026-01-15T09:30:00.000Z');
    await v.rebuildAgrees();
    expect(await backfillFvkAppointedRerouted(v.h.db, intakeRepository, deps)).toBe(0);
  });
});
