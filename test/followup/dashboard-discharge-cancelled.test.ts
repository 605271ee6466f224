/**
 * A discharge that a later A13 (cancel discharge) undid is not a discharge on the dashboard either: through the real
 * HL7 intake, A01 + ready notice, A03, A13 → the stay is in hospital (no ready days, not in the drill-down), as the
 * engine, the indicators and the payment liability have it; A03 again → discharged at the new time. And migration
 * 150 corrects the summaries stored before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { dashboardData, dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { migrate } from '../../src/store/migrate';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';
import { testDatabases } from '../support/db';

/** The agreement the dashboard reads under (Västmanland's, with its readiness gate). */
const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
/** The Västmanland agreement's readiness criteria (001 §3), so that the engine lets a ready notice go out. */
const CRITERIA = OBX.criteria(
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
);

describe.each(testDatabases())('dashboard and a cancelled discharge (A13) on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  const send = async (o: AdtOptions) => {
    const ack = await h.send(adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  const shown = async (visit: string) =>
    (await dashboardStays(h.db, VASTMANLAND, '1980', '2026-01')).filter(
      (s) => s.stayId === encounterIdFor(VISIT_SYSTEM, visit),
    );
  const januaryDays = async () => {
    const d = await dashboardData(h.db, VASTMANLAND, '2026-01', 1, { municipality: '1980' });
    return d.readyDays.find((s) => s.municipality === '1980');
  };

  it('when A03 is cancelled by A13, then the stay is in hospital; when A03 comes again, then discharged at its new time', async () => {
    const visit = 'S-DASH-A13';
    await send({ event: 'A01', visit, obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] });
    await send({
      event: 'A08',
      visit,
      obx: [OBX.needs('socialtjanst'), CRITERIA, OBX.ready('202601170900')],
      evnTime: '20260117091500',
    });
    await send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });
    expect((await shown(visit)).map((s) => s.dischargedAt)).toEqual(['2026-01-20T13:00:00.000Z']);

    await send({ event: 'A13', visit, evnTime: '20260120150000' });
    expect(await shown(visit)).toEqual([]);
    expect(await januaryDays()).toBeUndefined();

    await send({ event: 'A03', visit, discharge: '20260122100000', evnTime: '20260122100500' });
    const again = await shown(visit);
    expect(again.map((s) => [s.dischargedAt, s.readyDays])).toEqual([['2026-01-22T09:00:00.000Z', 5]]);
    expect(await januaryDays()).toEqual({ municipality: '1980', readyDays: [5], stays: [1] });
  });

  it('when migration 150 runs over summaries stored before it, then a cancelled discharge is no longer counted', async () => {
    const visit = 'S-DASH-OLD';
    await send({ event: 'A01', visit, obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] });
    await send({ event: 'A08', visit, obx: [CRITERIA, OBX.ready('202601180900')], evnTime: '20260118091500' });
    await send({ event: 'A03', visit, discharge: '20260121140000', evnTime: '20260121140500' });
    await send({ event: 'A13', visit, evnTime: '20260121150000' });
    // The summary as migration 130's intake left it: the last discharge, whatever came after it.
    await h.db.query(`ALTER TABLE stay_summary DROP COLUMN discharge_cancelled_at`);
    await h.db.query(`UPDATE stay_summary SET discharged_at = '2026-01-21T13:00:00Z' WHERE stay_id = $1`, [
      encounterIdFor(VISIT_SYSTEM, visit),
    ]);
    await h.db.query(`DELETE FROM schema_migrations WHERE name = '150_stay_summary_discharge_cancelled.sql'`);
    expect(await shown(visit)).toHaveLength(1);
    expect(await migrate(h.db)).toEqual(['150_stay_summary_discharge_cancelled.sql']);
    expect(await shown(visit)).toEqual([]);
  });
});
