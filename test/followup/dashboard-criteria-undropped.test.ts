/**
 * A re-routing drops readiness criterion 3 when the named care contact was appointed before it at another
 * vårdcentral, and the dashboard's summary then holds the engine's time (ADR 056). A message that arrives late,
 * dated before the contact's report, can show that the stay was already listed at the new vårdcentral when the
 * contact was appointed: then nothing was dropped, the criterion has been met since the report, and the summary
 * must say so again, not keep the time (none) it had while the criterion was dropped. Through the real HL7 intake
 * under Västmanland, both stores.
 */
import { describe, expect, it } from 'vitest';
import { intakeRepository, intakeServices } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import {
  backfillCriteriaByEngine,
  CRITERIA_BY_ENGINE_BACKFILL,
} from '../../src/intake/stay/information-transferred-backfill';
import { OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ALL, NEEDS_WITH_HSL, VC1, VC2, VISIT_SYSTEM, views } from './ready-views';

const ALL_BUT_TWO = ALL.filter((c) => c !== 'fast-vardkontakt' && c !== 'informationsoverforing');

describe.each(testDatabases())('the named care contact no longer dropped after a late message on %s', (kind) => {
  const v = views('vastmanland', kind);
  const marked = async (visit: string): Promise<boolean | undefined> => {
    const r = await v.h.db.query<{ m: boolean }>(
      'SELECT criteria_by_engine AS m FROM stay_summary WHERE stay_id = $1',
      [encounterIdFor(VISIT_SYSTEM, visit)],
    );
    return r.rows[0]?.m;
  };

  it('when a late A08 dated before the contact’s report lists the new vårdcentral, then the summary has the report’s time again, as the engine', async () => {
    const visit = 'U-LATE';
    // 15 January 10:30: admitted, listed at VC01, every criterion but the named care contact and the information transfer
    await v.send({ event: 'A01', visit, listedUnit: VC1, obx: [...NEEDS_WITH_HSL, OBX.criteria(...ALL_BUT_TWO)] });
    // 15 January 12:00: the contact appointed (no listing in the message: the stay is still at VC01 as far as known)
    await v.send({
      event: 'A08',
      visit,
      obx: [...NEEDS_WITH_HSL, OBX.criteria('fast-vardkontakt')],
      evnTime: '20260115120000',
    });
    expect(await v.summaryTime(visit, 'fvk_appointed_at')).toBe('2026-01-15T11:00:00.000Z');
    // 16 January: listed at VC02 (the information transferred to it), after the contact VC01 appointed: criterion 3
    // is dropped
    await v.send({
      event: 'A08',
      visit,
      listedUnit: VC2,
      obx: [...NEEDS_WITH_HSL, OBX.criteria('informationsoverforing')],
      evnTime: '20260116090000',
    });
    expect(await v.summaryTime(visit, 'fvk_appointed_at')).toBeNull();
    expect(await marked(visit)).toBe(true);
    // late, dated 15 January 11:00: the patient was listed at VC02 before the contact was appointed, so VC02 appointed it
    await v.send({ event: 'A08', visit, listedUnit: VC2, obx: NEEDS_WITH_HSL, evnTime: '20260115110000' });
    expect(await v.summaryTime(visit, 'fvk_appointed_at')).toBe('2026-01-15T11:00:00.000Z');
    expect(await marked(visit)).toBe(false);
    await v.send({
      event: 'A08',
      visit,
      listedUnit: VC2,
      obx: [...NEEDS_WITH_HSL, OBX.ready('202601170900')],
      evnTime: '20260117091500',
    });
    await v.send({ event: 'A03', visit, listedUnit: VC2, discharge: '20260120140000', evnTime: '20260120140500' });
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(3);
  });

  it('when the summary is made again from every fact, then it keeps the same times', async () => {
    await v.rebuildAgrees();
  });

  it('when a store from before kept the mark and the dropped time, then the one-off re-apply gives the reports’ time and clears the mark', async () => {
    const visit = 'U-LATE';
    await v.h.db.query(
      'UPDATE stay_summary SET criteria_by_engine = true, fvk_appointed_at = NULL WHERE stay_id = $1',
      [encounterIdFor(VISIT_SYSTEM, visit)],
    );
    expect(await v.dashboard(visit)).toBeUndefined();
    await v.h.db.query('DELETE FROM schema_migrations WHERE name = $1', [CRITERIA_BY_ENGINE_BACKFILL]);
    const deps = intakeServices(v.h.ctx).deps;
    expect(await backfillCriteriaByEngine(v.h.db, intakeRepository, deps)).toBe(1);
    expect(await v.summaryTime(visit, 'fvk_appointed_at')).toBe('2026-01-15T11:00:00.000Z');
    expect(await marked(visit)).toBe(false);
    expect(await v.dashboard(visit)).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    await v.rebuildAgrees();
    expect(await backfillCriteriaByEngine(v.h.db, intakeRepository, deps)).toBe(0);
  });
});
