/**
 * What the dashboard, the engine and the payment liability say of one HL7 visit's stay, through the real intake under
 * one agreement: the shared set-up of the dashboard's ready-time tests (dashboard-ready-gate, dashboard-ready-episodes).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../src/core/engine/evaluate';
import { readyDaysAt } from '../../src/core/indicators/compute-indicators';
import type { StayFact } from '../../src/core/stay/facts';
import { dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { liabilityFromStore } from '../../src/followup/liability/store-liability';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';

export const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
export const NEEDS = [OBX.needs('socialtjanst'), OBX.consent('ja')];
/** Needs that call for the vårdcentral too (municipal home health care), for the tests that re-route between two. */
export const NEEDS_WITH_HSL = [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')];
/** Two vårdcentraler of the demo region's sender, to re-route a stay between. */
export const VC1 = 'SE2321000172-VC01';
export const VC2 = 'SE2321000172-VC02';
/** All five criteria besides the physician's assessment (the ready notice itself). */
export const ALL = [
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
];
export const agreements = await loadAgreements();
const rates = await loadRatesTable();

/** A harness under one agreement, and what its dashboard, engine and liability say of a visit's stay. */
export function views(agreementId: string, kind: 'pglite' | 'postgres') {
  const agreement: Agreement = getAgreement(agreements, agreementId);
  const v = {
    h: undefined as unknown as IntakeHarness,
    async send(o: AdtOptions) {
      const ack = await v.h.send(adt(o));
      expect(ackCode(ack), ack.toString()).toBe('AA');
    },
    /** The drill-down's row of the stay in `municipality`: [ready at, ready days], or undefined when not counted. */
    async dashboard(visit: string, municipality = '1980') {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const rows = (await dashboardStays(v.h.db, agreement, municipality, '2026-01')).filter(
        (s) => s.stayId === stayId,
      );
      expect(rows.length).toBeLessThanOrEqual(1);
      return rows[0] && [rows[0].readyAt, rows[0].readyDays];
    },
    /** The engine's ready time and its ready days, or undefined when it has none. */
    async engine(visit: string) {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const r = await v.h.db.query<{ body: StayFact | string }>('SELECT body FROM stay_fact WHERE stay_id = $1', [
        stayId,
      ]);
      const facts = r.rows.map((x) => (typeof x.body === 'string' ? (JSON.parse(x.body) as StayFact) : x.body));
      const state = evaluateStay(facts, agreement).state;
      expect(state.dischargedAt).toBeDefined();
      return state.readyAt === undefined
        ? undefined
        : [state.readyAt, readyDaysAt(Date.parse(state.readyAt), Date.parse(state.dischargedAt ?? ''))];
    },
    /** The time the stay's summary holds in `column` (a criterion's: `CRITERION_COLUMN`), or null. */
    async summaryTime(visit: string, column: string): Promise<string | null> {
      const r = await v.h.db.query<{ at: string | Date | null }>(
        `SELECT ${column} AS at FROM stay_summary WHERE stay_id = $1`,
        [encounterIdFor(VISIT_SYSTEM, visit)],
      );
      const at = r.rows[0]?.at;
      return at ? new Date(at).toISOString() : null;
    },
    /** The days the payment liability counts for the stay in January. */
    async liabilityDays(visit: string) {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const got = await liabilityFromStore(
        { db: v.h.db, agreements, rates },
        { agreement: agreementId, month: '2026-01', missingRate: 'days-only' },
      );
      return got.municipalities
        .flatMap((m) => m.stays)
        .filter((s) => s.id === stayId)
        .reduce((n, s) => n + s.days, 0);
    },
    /** The stay's summary made again from all its facts equals the one intake kept. */
    async rebuildAgrees() {
      const before = await v.h.db.query('SELECT * FROM stay_summary ORDER BY stay_id');
      await v.h.db.query('SELECT svu_rebuild_stay_summary()');
      const after = await v.h.db.query('SELECT * FROM stay_summary ORDER BY stay_id');
      expect(after.rows).toEqual(before.rows);
    },
  };
  beforeAll(async () => {
    v.h = await intakeHarness(kind, { env: { AGREEMENT: agreementId } });
  });
  afterAll(async () => {
    await v.h.close();
  });
  return v;
}
