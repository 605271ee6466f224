/**
 * A stay whose admission was cancelled (HL7 A11) never happened, and a death reported at or before the discharge
 * replaces it (the patient left hospital by dying): through the real HL7 intake, neither counts on the dashboard (no
 * ready days, not in the drill-down) nor in the indicators (no discharge, no re-admission), as the engine and the
 * payment liability have it. A death reported after the discharge is outside the stay: the discharge stands. And
 * migration 151 corrects the summaries stored before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { dashboardData, dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { indicatorsOfMonth } from '../../src/followup/indicators/indicator-months.pg';
import { loadIndicatorRows } from '../../src/followup/indicators/indicator-rows.pg';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { migrate } from '../../src/store/migrate';
import { adt, died, OBX, PNR_SALA, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';
import { testDatabases } from '../support/db';

/** The agreement the dashboard reads under (Västmanland's, with its readiness gate). */
const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const NEEDS = [OBX.needs('socialtjanst'), OBX.consent('ja')];
/** The Västmanland agreement's readiness criteria (001 §3), so that the engine lets a ready notice go out. */
const CRITERIA = OBX.criteria(
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
);

describe.each(testDatabases())('dashboard, a cancelled admission (A11) and a death on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  const send = async (o: AdtOptions | string) => {
    const ack = await h.send(typeof o === 'string' ? o : adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  const shown = async (visit: string) =>
    (await dashboardStays(h.db, VASTMANLAND, '1980', '2026-01')).filter(
      (s) => s.stayId === encounterIdFor(VISIT_SYSTEM, visit),
    );
  /** A01, ready on 17 January (with the criteria, so the notice counts), A03 on 20 January at 14:00 local time. */
  const discharged = async (visit: string) => {
    await send({ event: 'A01', visit, obx: NEEDS });
    await send({
      event: 'A08',
      visit,
      obx: [...NEEDS, CRITERIA, OBX.ready('202601170900')],
      evnTime: '20260117091500',
    });
    await send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });
    expect((await shown(visit)).map((s) => [s.dischargedAt, s.readyDays])).toEqual([['2026-01-20T13:00:00.000Z', 3]]);
  };

  it('when A11 cancels the admission after its discharge, then the stay is neither shown nor counted', async () => {
    await discharged('S-A11-AFTER');
    await send({ event: 'A11', visit: 'S-A11-AFTER', evnTime: '20260120150000' });
    expect(await shown('S-A11-AFTER')).toEqual([]);
    expect((await dashboardData(h.db, VASTMANLAND, '2026-01', 1, { municipality: '1980' })).readyDays).toEqual([]);
  });

  it('when A11 cancels the admission and an A03 of the cancelled visit follows, then the stay is not shown', async () => {
    const visit = 'S-A11-BEFORE';
    await send({ event: 'A01', visit, obx: NEEDS });
    await send({
      event: 'A08',
      visit,
      obx: [...NEEDS, CRITERIA, OBX.ready('202601170900')],
      evnTime: '20260117091500',
    });
    await send({ event: 'A11', visit, evnTime: '20260118100000' });
    await h.send(adt({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' }));
    expect(await shown(visit)).toEqual([]);
  });

  it.each([
    ['at the discharge', '20260120140000'],
    ['before the discharge', '20260120133000'],
  ])('when a death %s is reported after the A03, then it replaces the discharge: not shown', async (_w, at) => {
    const visit = `S-DIED-${at}`;
    await discharged(visit);
    await send(died(adt({ event: 'A08', visit, evnTime: '20260120160000' }), at));
    expect(await shown(visit)).toEqual([]);
  });

  it('when a death after the discharge is reported, then it is outside the stay: the discharge stands', async () => {
    const visit = 'S-DIED-LATER';
    await discharged(visit);
    await h.send(died(adt({ event: 'A08', visit, evnTime: '20260121160000' }), '20260121150000'));
    expect((await shown(visit)).map((s) => s.dischargedAt)).toEqual(['2026-01-20T13:00:00.000Z']);
    const d = await dashboardData(h.db, VASTMANLAND, '2026-01', 1, { municipality: '1980' });
    expect(d.readyDays).toEqual([{ municipality: '1980', readyDays: [3], stays: [1] }]);
  });

  it('when migration 151 runs over summaries stored before it, then cancelled admissions and replaced discharges are no longer counted', async () => {
    await discharged('S-OLD-A11');
    await send({ event: 'A11', visit: 'S-OLD-A11', evnTime: '20260120150000' });
    await discharged('S-OLD-DIED');
    await send(died(adt({ event: 'A08', visit: 'S-OLD-DIED', evnTime: '20260120160000' }), '20260120140000'));
    // The summaries as migration 150's intake left them: the discharge in force by A13 alone.
    await h.db.query(`ALTER TABLE stay_summary DROP COLUMN died_at, DROP COLUMN admission_cancelled_at`);
    await h.db.query(`UPDATE stay_summary SET discharged_at = '2026-01-20T13:00:00Z' WHERE stay_id = ANY($1)`, [
      [encounterIdFor(VISIT_SYSTEM, 'S-OLD-A11'), encounterIdFor(VISIT_SYSTEM, 'S-OLD-DIED')],
    ]);
    await h.db.query(`DELETE FROM schema_migrations WHERE name = '151_stay_summary_cancelled_died.sql'`);
    expect(await migrate(h.db)).toEqual(['151_stay_summary_cancelled_died.sql']);
    expect(await shown('S-OLD-A11')).toEqual([]);
    expect(await shown('S-OLD-DIED')).toEqual([]);
  });
});

describe.each(testDatabases())('indicators and a cancelled admission (A11) on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  it('when a later stay of a patient over 65 is cancelled by A11, then it is neither a discharge, a ready day nor a re-admission', async () => {
    const send = async (o: AdtOptions) =>
      expect(ackCode(await h.send(adt({ pnr: PNR_SALA, municipality: '1981', ...o })))).toBe('AA');
    // The stay that counts: admitted 5 January, ready on the 8th, discharged on the 10th (2 ready days).
    await send({ event: 'A01', visit: 'I-1', admit: '20260105100000', evnTime: '20260105100500', obx: NEEDS });
    await send({
      event: 'A08',
      visit: 'I-1',
      obx: [...NEEDS, CRITERIA, OBX.ready('202601080900')],
      evnTime: '20260108091500',
    });
    await send({ event: 'A03', visit: 'I-1', discharge: '20260110140000', evnTime: '20260110140500' });
    // Five days later a stay that never happened: admitted, ready, discharged, then cancelled (A11).
    await send({ event: 'A01', visit: 'I-2', admit: '20260115100000', evnTime: '20260115100500', obx: NEEDS });
    await send({
      event: 'A08',
      visit: 'I-2',
      obx: [...NEEDS, CRITERIA, OBX.ready('202601160900')],
      evnTime: '20260116091500',
    });
    await send({ event: 'A03', visit: 'I-2', discharge: '20260125140000', evnTime: '20260125140500' });
    await send({ event: 'A11', visit: 'I-2', evnTime: '20260125150000' });

    const agreement = getAgreement(await loadAgreements(), 'vastmanland');
    const rows = await loadIndicatorRows(h.db, agreement, '2026-01');
    const cancelled = rows.stays.find((s) => s.stayId === encounterIdFor(VISIT_SYSTEM, 'I-2'));
    expect(cancelled).toBeDefined();
    expect([cancelled?.admittedAt, cancelled?.readyAt, cancelled?.dischargedAt]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const values = await indicatorsOfMonth(h.db, agreement, '2026-01', '2026-02-01T00:00:00Z');
    const of = (indicator: string) =>
      values
        .filter((v) => v.indicator === indicator && v.dimension === 'municipality' && v.unit === '1981')
        .map((v) => [v.numerator, v.denominator]);
    expect(of('ready-days')).toEqual([[2, 1]]);
    expect(of('readmission-30d-65plus')).toEqual([[0, 1]]);
  });
});
